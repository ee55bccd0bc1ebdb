package endpoints

import (
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
)

// encodeCache shares the encoding of one watch event among every watcher
// that receives the same object in the same form: the watch cache hands
// all watchers the same object, so N watchers cost one encoding, not N.
// Entries hold their object, so a cached pointer is never reused for
// another object while it is cached.
type encodeCache struct {
	mu      sync.Mutex
	entries map[encodeKey][]byte
	order   []encodeKey
	max     int
}

type encodeKey struct {
	obj   runtime.Object
	typ   string
	media string
}

func newEncodeCache(max int) *encodeCache {
	return &encodeCache{entries: make(map[encodeKey][]byte, max), max: max}
}

// get returns the cached frame of key, or computes, stores and returns it.
func (c *encodeCache) get(key encodeKey, encode func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if b, ok := c.entries[key]; ok {
		c.mu.Unlock()
		return b, nil
	}
	c.mu.Unlock()
	b, err := encode()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if _, ok := c.entries[key]; !ok {
		if len(c.order) >= c.max {
			delete(c.entries, c.order[0])
			c.order = c.order[1:]
		}
		c.entries[key] = b
		c.order = append(c.order, key)
	}
	c.mu.Unlock()
	return b, nil
}

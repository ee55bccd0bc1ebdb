package webhook

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// Watcher streams the objects of one resource (a registry store).
type Watcher interface {
	Watch(ctx context.Context, ns string, opts *metav1.ListOptions) (storage.Watcher, error)
}

// Cache keeps the current objects of one resource, fed by a watch, and a
// value compiled from them that readers load without locks. compile runs
// on every change with the objects sorted by name.
type Cache[T any] struct {
	compile func([]runtime.Object) T
	current atomic.Pointer[T]
	log     *slog.Logger

	mu      sync.Mutex
	objects map[string]runtime.Object
	synced  chan struct{}
	once    sync.Once
}

// NewCache starts watching src until ctx ends. Load returns compile(nil)
// until the first objects arrive.
func NewCache[T any](ctx context.Context, src Watcher, log *slog.Logger, compile func([]runtime.Object) T) *Cache[T] {
	c := &Cache[T]{compile: compile, log: log, objects: map[string]runtime.Object{}, synced: make(chan struct{})}
	empty := compile(nil)
	c.current.Store(&empty)
	if src != nil {
		go c.run(ctx, src)
	} else {
		// Nothing to watch: the empty state is the whole state.
		c.once.Do(func() { close(c.synced) })
	}
	return c
}

// Load returns the compiled value of the current objects.
func (c *Cache[T]) Load() T { return *c.current.Load() }

// Synced is closed once the initial state has been read.
func (c *Cache[T]) Synced() <-chan struct{} { return c.synced }

// readyWait bounds how long a request waits for a cache that has not read
// its initial state yet (a server just started), as upstream's plugins do.
const readyWait = 10 * time.Second

// Ready returns the compiled value once the initial state has been read;
// false when that did not happen within readyWait or ctx ended.
func (c *Cache[T]) Ready(ctx context.Context) (T, bool) {
	select {
	case <-c.synced:
		return c.Load(), true
	default:
	}
	t := time.NewTimer(readyWait)
	defer t.Stop()
	select {
	case <-c.synced:
		return c.Load(), true
	case <-ctx.Done():
	case <-t.C:
	}
	var zero T
	return zero, false
}

func (c *Cache[T]) run(ctx context.Context, src Watcher) {
	rv := ""
	for ctx.Err() == nil {
		send, allow := true, true
		opts := &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: allow}
		if rv == "" {
			// The initial state ends with a bookmark: then the cache is synced.
			opts.SendInitialEvents = &send
			opts.ResourceVersionMatch = metav1.ResourceVersionMatchNotOlderThan
		}
		w, err := src.Watch(ctx, "", opts)
		if err != nil {
			c.log.Warn("admission cache: watch failed", "err", err)
			rv = ""
			sleep(ctx, time.Second)
			continue
		}
		fresh := rv == ""
		if fresh {
			c.mu.Lock()
			c.objects = map[string]runtime.Object{}
			c.mu.Unlock()
		}
		rv = c.consume(ctx, w, rv, fresh)
	}
}

// consume applies events until the watch ends; it returns the revision to
// resume from ("" after an error: start over).
func (c *Cache[T]) consume(ctx context.Context, w storage.Watcher, rv string, fresh bool) string {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return rv
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv
			}
			if ev.Type == storage.ErrorEvent {
				return ""
			}
			acc, err := meta.Accessor(ev.Object)
			if err != nil {
				continue
			}
			rv = acc.GetResourceVersion()
			switch ev.Type {
			case storage.Bookmark:
				if fresh {
					fresh = false
					c.publish()
					c.once.Do(func() { close(c.synced) })
				}
				continue
			case storage.Deleted:
				c.mu.Lock()
				delete(c.objects, acc.GetName())
				c.mu.Unlock()
			default:
				c.mu.Lock()
				c.objects[acc.GetName()] = ev.Object
				c.mu.Unlock()
			}
			if !fresh {
				c.publish()
			}
		}
	}
}

func (c *Cache[T]) publish() {
	c.mu.Lock()
	objs := make([]runtime.Object, 0, len(c.objects))
	names := make([]string, 0, len(c.objects))
	for n := range c.objects {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		objs = append(objs, c.objects[n])
	}
	v := c.compile(objs)
	c.current.Store(&v)
	c.mu.Unlock()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

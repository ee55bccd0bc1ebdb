package cacher

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/kastle-dev/kastle/internal/storage"
)

// BenchmarkGet compares a consistent Get from etcd with one from the
// cache (which costs a revision read plus a map lookup) and a "0" Get.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	c, s := newCacher(b, nil)
	mustCreate(b, c, "a", nil, "1")
	key := keyOf(b, "a")
	for _, tc := range []struct {
		name string
		si   storage.Interface
		rv   string
	}{{"etcd3", s, ""}, {"cacher", c, ""}, {"cacher-rv0", c, "0"}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := tc.si.Get(ctx, key, storage.GetOptions{ResourceVersion: tc.rv}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkList1000 lists 1000 ConfigMaps from etcd and from the cache.
func BenchmarkList1000(b *testing.B) {
	ctx := context.Background()
	c, s := newCacher(b, nil)
	prefix := prefixFor(b)
	for i := range 1000 {
		mustCreate(b, s, fmt.Sprintf("o%04d", i), map[string]string{"i": fmt.Sprint(i % 10)}, "value")
	}
	for _, tc := range []struct {
		name string
		si   storage.Interface
		sel  string
	}{{"etcd3", s, ""}, {"cacher", c, ""}, {"etcd3-selector", s, "i=3"}, {"cacher-selector", c, "i=3"}} {
		b.Run(tc.name, func(b *testing.B) {
			opts := storage.ListOptions{Recursive: true}
			if tc.sel != "" {
				opts.Predicate = labelPredicate(b, tc.sel)
			}
			for b.Loop() {
				res, err := tc.si.GetList(ctx, prefix, opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Items) == 0 {
					b.Fatal("empty list")
				}
			}
		})
	}
}

// BenchmarkCreate creates ConfigMaps through the cache (a pass-through
// to one etcd transaction).
func BenchmarkCreate(b *testing.B) {
	c, _ := newCacher(b, nil)
	i := 0
	for b.Loop() {
		i++
		mustCreate(b, c, fmt.Sprintf("o%d", i), nil, "value")
	}
}

// BenchmarkFanOut measures dispatching 500 events to 100 watchers, each
// consumed by its own goroutine, without etcd in the loop (one op = 500
// events delivered to all 100 watchers).
func BenchmarkFanOut(b *testing.B) {
	const watchers, events = 100, 500
	c, s := newCacher(b, nil)
	base := mustCreate(b, s, "a", nil, "0")
	var wg sync.WaitGroup
	start := make([]chan struct{}, watchers)
	for i := range watchers {
		w, err := c.Watch(context.Background(), prefixFor(b), storage.WatchOptions{SendInitialEvents: new(bool), Recursive: true})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Stop()
		start[i] = make(chan struct{})
		go func(ch <-chan struct{}) {
			for range ch {
				for range events {
					if _, ok := <-w.ResultChan(); !ok {
						panic("watcher terminated during the benchmark")
					}
				}
				wg.Done()
			}
		}(start[i])
	}
	rv := rvOf(b, base) + 1_000_000
	for b.Loop() {
		wg.Add(watchers)
		for _, ch := range start {
			ch <- struct{}{}
		}
		for range events {
			rv++
			obj := base.DeepCopyObject()
			if err := c.cfg.Versioner.UpdateObject(obj, rv); err != nil {
				b.Fatal(err)
			}
			if err := c.apply(storage.Event{Type: storage.Modified, Object: obj}); err != nil {
				b.Fatal(err)
			}
		}
		wg.Wait()
	}
	for _, ch := range start {
		close(ch)
	}
}

package cacher

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

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

// BenchmarkUpdate updates one ConfigMap back to back from the etcd store
// (a read and a transaction each) and through the cache, whose copy is
// the first guess of the current state; reads/op and txns/op count the
// etcd calls (a stale guess costs a failed transaction), cpu-µs/op is the
// CPU of the whole process, the embedded etcd included.
func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	c, s, counts := countingCacher(b)
	mustCreate(b, s, "a", nil, "0")
	key := keyOf(b, "a")
	for _, tc := range []struct {
		name string
		si   storage.Interface
	}{{"etcd3", s}, {"cacher", c}} {
		b.Run(tc.name, func(b *testing.B) {
			i := 0
			counts.Reset()
			cpu := processCPU(b)
			for b.Loop() {
				i++
				if _, err := tc.si.GuaranteedUpdate(ctx, key, nil, func(cur runtime.Object) (runtime.Object, error) {
					cur.(*corev1.ConfigMap).Data["v"] = strconv.Itoa(i)
					return cur, nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(i), "cpu-µs/op")
			b.ReportMetric(float64(counts.Gets.Load())/float64(i), "reads/op")
			b.ReportMetric(float64(counts.Txns.Load())/float64(i), "txns/op")
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

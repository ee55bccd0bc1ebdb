package cacher

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// TestConsistentReadAfterWrite: a Get or List with resourceVersion ""
// right after a write must see it, although it is served from memory.
func TestConsistentReadAfterWrite(t *testing.T) {
	ctx := context.Background()
	c, _ := newCacher(t, nil)
	for i := range 20 {
		name := fmt.Sprintf("o%d", i)
		created := mustCreate(t, c, name, nil, "1")
		got, err := c.Get(ctx, keyOf(t, name), storage.GetOptions{})
		if err != nil {
			t.Fatalf("get after create: %v", err)
		}
		if rvOf(t, got) != rvOf(t, created) {
			t.Fatalf("get rv %d, want %d", rvOf(t, got), rvOf(t, created))
		}
		update(t, c, name, "2", nil)
		list, err := c.GetList(ctx, prefixFor(t), storage.ListOptions{Recursive: true})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(list.Items); n != i+1 || list.Items[len(list.Items)-1].(*corev1.ConfigMap).Data["v"] != "2" && name == names(list.Items)[n-1] {
			t.Fatalf("list after update: %v", names(list.Items))
		}
		if _, err := c.Delete(ctx, keyOf(t, name), nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(ctx, keyOf(t, name), storage.GetOptions{}); !storage.IsNotFound(err) {
			t.Fatalf("get after delete: %v", err)
		}
		mustCreate(t, c, name, nil, "3")
	}
}

// TestConsistentReadIdle: when only other resources change, the cache
// learns etcd's revision from a progress request and still answers.
func TestConsistentReadIdle(t *testing.T) {
	ctx := context.Background()
	c, s := newCacher(t, nil)
	mustCreate(t, c, "a", nil, "1")
	other, err := s.Create(ctx, prefixFor(t)+"-other/x", cm("x", nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, keyOf(t, "a"), storage.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	c.mu.RLock()
	rv := c.rv
	c.mu.RUnlock()
	if rv < rvOf(t, other) {
		t.Errorf("cache at %d after a consistent read, etcd was at %d: the read was not served by the cache", rv, rvOf(t, other))
	}
}

// TestConsistentReadsFromStorage: with an etcd whose progress
// notifications are not trusted, consistent reads go to etcd (and find
// what was written there) without asking for progress, so the cache's
// revision does not move to etcd's; reads at any revision still come
// from the cache.
func TestConsistentReadsFromStorage(t *testing.T) {
	ctx := context.Background()
	c, s := newCacher(t, func(cfg *Config) { cfg.ConsistentReadsFromStorage = true })
	mustCreate(t, c, "a", nil, "1")
	direct, err := s.Create(ctx, keyOf(t, "b"), cm("b", nil, "2"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Create(ctx, prefixFor(t)+"-other/x", cm("x", nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, keyOf(t, "b"), storage.GetOptions{})
	if err != nil || rvOf(t, got) != rvOf(t, direct) {
		t.Fatalf("consistent Get after a write to etcd: %v, %v", got, err)
	}
	if _, err := c.Get(ctx, keyOf(t, "a"), storage.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // a progress notification would have arrived by now
	c.mu.RLock()
	rv := c.rv
	c.mu.RUnlock()
	if rv >= rvOf(t, other) {
		t.Errorf("cache at %d, past the other prefix's write at %d: progress was requested", rv, rvOf(t, other))
	}
	if _, err := c.Get(ctx, keyOf(t, "a"), storage.GetOptions{ResourceVersion: "0"}); err != nil {
		t.Errorf("Get at any revision: %v", err)
	}
}

func TestGet(t *testing.T) {
	ctx := context.Background()
	c, _ := newCacher(t, nil)
	a := mustCreate(t, c, "a", nil, "1")
	tests := []struct {
		name     string
		key      string
		opts     storage.GetOptions
		wantCode storage.ErrorCode
	}{
		{name: "consistent", key: keyOf(t, "a")},
		{name: "any", key: keyOf(t, "a"), opts: storage.GetOptions{ResourceVersion: "0"}},
		{name: "at least", key: keyOf(t, "a"), opts: storage.GetOptions{ResourceVersion: strconv.FormatInt(rvOf(t, a), 10)}},
		{name: "missing", key: keyOf(t, "b"), wantCode: storage.ErrCodeKeyNotFound},
		{name: "ignore not found", key: keyOf(t, "b"), opts: storage.GetOptions{IgnoreNotFound: true}},
		{name: "invalid rv", key: keyOf(t, "a"), opts: storage.GetOptions{ResourceVersion: "abc"}, wantCode: storage.ErrCodeInvalidResourceVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Get(ctx, tc.key, tc.opts)
			if got := storage.CodeOf(err); got != tc.wantCode {
				t.Fatalf("error %v, want code %d", err, tc.wantCode)
			}
		})
	}
}

func listPages(t *testing.T, s storage.Interface, prefix string, opts storage.ListOptions, between func()) ([][]string, []*storage.ListResult) {
	t.Helper()
	var pages [][]string
	var results []*storage.ListResult
	for i := 0; i < 100; i++ {
		res, err := s.GetList(context.Background(), prefix, opts)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		pages = append(pages, names(res.Items))
		results = append(results, res)
		if res.Continue == "" {
			return pages, results
		}
		if between != nil {
			between()
		}
		opts.Continue = res.Continue
	}
	t.Fatal("endless pagination")
	return nil, nil
}

func TestListPagination(t *testing.T) {
	c, s := newCacher(t, nil)
	for i := range 7 {
		mustCreate(t, c, fmt.Sprintf("i%d", i), map[string]string{"even": strconv.FormatBool(i%2 == 0)}, "")
	}
	n := 0
	prefix := prefixFor(t)
	tests := []struct {
		name    string
		opts    storage.ListOptions
		between func()
		want    [][]string
	}{
		{name: "unchanged", opts: storage.ListOptions{Limit: 3}, want: [][]string{{"i0", "i1", "i2"}, {"i3", "i4", "i5"}, {"i6"}}},
		{name: "writes between pages", opts: storage.ListOptions{Limit: 3}, between: func() {
			n++
			// Sorts into a later page: visible there unless the
			// pages share the first page's snapshot.
			mustCreate(t, s, fmt.Sprintf("i5%c", 'a'+n), nil, "")
		}, want: [][]string{{"i0", "i1", "i2"}, {"i3", "i4", "i5"}, {"i6"}}},
		{name: "selector", opts: storage.ListOptions{Limit: 2, Predicate: labelPredicate(t, "even=true")}, want: [][]string{{"i0", "i2"}, {"i4", "i6"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Recursive = true
			pages, results := listPages(t, c, prefix, tc.opts, tc.between)
			if !reflect.DeepEqual(pages, tc.want) {
				t.Errorf("pages %v, want %v", pages, tc.want)
			}
			for _, r := range results {
				if r.ResourceVersion != results[0].ResourceVersion {
					t.Errorf("pages at different revisions: %d and %d", r.ResourceVersion, results[0].ResourceVersion)
				}
			}
			if tc.opts.Predicate.Empty() {
				if r := results[0].RemainingItemCount; r == nil || *r != 4 {
					t.Errorf("remaining count %v, want 4", r)
				}
			}
		})
	}
	// Tokens of the cache and of etcd are interchangeable.
	first, err := c.GetList(context.Background(), prefixFor(t), storage.ListOptions{Limit: 2, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.GetList(context.Background(), prefixFor(t), storage.ListOptions{Limit: 2, Recursive: true, Continue: first.Continue})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(second.Items); !reflect.DeepEqual(got, []string{"i2", "i3"}) {
		t.Errorf("etcd page after a cache page: %v", got)
	}
}

func TestWatchFromResourceVersion(t *testing.T) {
	c, _ := newCacher(t, nil)
	a := mustCreate(t, c, "a", nil, "1")
	update(t, c, "a", "2", nil)
	mustCreate(t, c, "b", nil, "1")
	w, err := c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{ResourceVersion: strconv.FormatInt(rvOf(t, a), 10), Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	update(t, c, "b", "live", nil)
	want := []string{"MODIFIED a=2", "ADDED b=1", "MODIFIED b=live"}
	if got := collect(t, w, len(want)); !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	// A single-key watch sees only its key.
	wa, err := c.Watch(context.Background(), keyOf(t, "a"), storage.WatchOptions{ResourceVersion: strconv.FormatInt(rvOf(t, a), 10)})
	if err != nil {
		t.Fatal(err)
	}
	defer wa.Stop()
	update(t, c, "a", "3", nil)
	want = []string{"MODIFIED a=2", "MODIFIED a=3"}
	if got := collect(t, wa, len(want)); !reflect.DeepEqual(got, want) {
		t.Errorf("single key events %v, want %v", got, want)
	}
}

func TestWatchTooOld(t *testing.T) {
	c, _ := newCacher(t, func(cfg *Config) { cfg.EventBufferSize = 3 })
	a := mustCreate(t, c, "a", nil, "0")
	var last int64
	for i := range 5 {
		last = rvOf(t, update(t, c, "a", strconv.Itoa(i+1), nil))
	}
	// A consistent read waits until the cache has seen every update, so
	// the buffer has moved past a's creation before the watch starts.
	if _, err := c.Get(context.Background(), keyOf(t, "a"), storage.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{ResourceVersion: strconv.FormatInt(rvOf(t, a), 10), Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(next(t, w, false)); got != fmt.Sprintf("ERROR %d", storage.ErrCodeResourceVersionTooOld) {
		t.Errorf("got %s, want a too-old error", got)
	}
	if !closedWithin(w) {
		t.Error("too-old watch not closed")
	}
	// The last events are still in the buffer.
	w, err = c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{ResourceVersion: strconv.FormatInt(last-2, 10), Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if got, want := collect(t, w, 2), []string{"MODIFIED a=4", "MODIFIED a=5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestWatchInitialEvents(t *testing.T) {
	c, _ := newCacher(t, nil)
	mustCreate(t, c, "a", nil, "1")
	mustCreate(t, c, "b", nil, "1")
	yes := true
	w, err := c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{SendInitialEvents: &yes, AllowBookmarks: true, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if got, want := collect(t, w, 2), []string{"ADDED a=1", "ADDED b=1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("initial events %v, want %v", got, want)
	}
	b := next(t, w, true)
	if b.Type != storage.Bookmark || b.Object.(*corev1.ConfigMap).Annotations[storage.InitialEventsEndAnnotation] != "true" || rvOf(t, b.Object) == 0 {
		t.Fatalf("got %s %+v, want the initial-events-end bookmark", b.Type, b.Object)
	}
	update(t, c, "a", "2", nil)
	if got := describe(next(t, w, false)); got != "MODIFIED a=2" {
		t.Errorf("live event %s", got)
	}
	// Legacy "0": initial state, no bookmark needed.
	w0, err := c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{ResourceVersion: "0", Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w0.Stop()
	if got, want := collect(t, w0, 2), []string{"ADDED a=2", "ADDED b=1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("initial events %v, want %v", got, want)
	}
}

func TestWatchTransitions(t *testing.T) {
	c, _ := newCacher(t, nil)
	a := mustCreate(t, c, "a", map[string]string{"x": "1"}, "1")
	w, err := c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{
		ResourceVersion: strconv.FormatInt(rvOf(t, a), 10), Recursive: true, Predicate: labelPredicate(t, "x=1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	update(t, c, "a", "2", nil)
	left := update(t, c, "a", "3", map[string]string{"x": "2"})
	update(t, c, "a", "4", nil)
	update(t, c, "a", "5", map[string]string{"x": "1"})
	if _, err := c.Delete(context.Background(), keyOf(t, "a"), nil, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 {
		ev := next(t, w, false)
		got = append(got, describe(ev))
		if len(got) == 2 && rvOf(t, ev.Object) != rvOf(t, left) {
			t.Errorf("DELETED on leaving the selection has rv %d, want %d", rvOf(t, ev.Object), rvOf(t, left))
		}
	}
	if want := []string{"MODIFIED a=2", "DELETED a=2", "ADDED a=5", "DELETED a=5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestPeriodicBookmarks(t *testing.T) {
	c, _ := newCacher(t, func(cfg *Config) { cfg.BookmarkInterval = 20 * time.Millisecond })
	a := mustCreate(t, c, "a", nil, "1")
	w, err := c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{ResourceVersion: strconv.FormatInt(rvOf(t, a), 10), AllowBookmarks: true, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := next(t, w, true)
	if ev.Type != storage.Bookmark || rvOf(t, ev.Object) < rvOf(t, a) {
		t.Errorf("got %s at %d, want a bookmark at >= %d", ev.Type, rvOf(t, ev.Object), rvOf(t, a))
	}
}

func TestFanOut(t *testing.T) {
	const watchers, events = 50, 100
	c, _ := newCacher(t, nil)
	a := mustCreate(t, c, "a", nil, "0")
	var ws []storage.Watcher
	for range watchers {
		w, err := c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{ResourceVersion: strconv.FormatInt(rvOf(t, a), 10), Recursive: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ws = append(ws, w)
	}
	var wg sync.WaitGroup
	errs := make(chan string, watchers)
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range events {
				select {
				case ev, ok := <-w.ResultChan():
					if !ok {
						errs <- "closed"
						return
					}
					if got := ev.Object.(*corev1.ConfigMap).Data["v"]; got != strconv.Itoa(i+1) {
						errs <- fmt.Sprintf("event %d has v=%s", i, got)
						return
					}
				case <-time.After(10 * time.Second):
					errs <- "timeout"
					return
				}
			}
		}()
	}
	for i := range events {
		update(t, c, "a", strconv.Itoa(i+1), nil)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestSlowWatcherTerminated(t *testing.T) {
	c, _ := newCacher(t, func(cfg *Config) {
		cfg.WatcherBufferSize = 5
		cfg.DispatchTimeout = 10 * time.Millisecond
	})
	a := mustCreate(t, c, "a", nil, "0")
	from := strconv.FormatInt(rvOf(t, a), 10)
	slow, err := c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{ResourceVersion: from, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Stop()
	fast, err := c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{ResourceVersion: from, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Stop()
	const n = 30
	got := make(chan int, 1)
	go func() {
		count := 0
		for range fast.ResultChan() {
			if count++; count == n {
				break
			}
		}
		got <- count
	}()
	for i := range n {
		update(t, c, "a", strconv.Itoa(i+1), nil)
	}
	if count := <-got; count != n {
		t.Errorf("fast watcher got %d events, want %d", count, n)
	}
	received := 0
	for range slow.ResultChan() {
		received++
	}
	if received >= n {
		t.Errorf("slow watcher got all %d events; it should have been terminated", received)
	}
}

func TestStopClosesWatchers(t *testing.T) {
	c, _ := newCacher(t, nil)
	var ws []storage.Watcher
	for range 3 {
		w, err := c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{ResourceVersion: "0", Recursive: true})
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	c.Stop()
	c.Stop()
	for i, w := range ws {
		if !closedWithin(w) {
			t.Errorf("watcher %d not closed by Stop", i)
		}
	}
	// After Stop, reads still work through the underlying store.
	mustCreate(t, c, "a", nil, "1")
	if _, err := c.Get(context.Background(), keyOf(t, "a"), storage.GetOptions{}); err != nil {
		t.Errorf("get after stop: %v", err)
	}
}

func TestWatchStopAndContext(t *testing.T) {
	c, _ := newCacher(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	w1, err := c.Watch(ctx, prefixFor(t), storage.WatchOptions{ResourceVersion: "0", Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	w2, err := c.Watch(context.Background(), prefixFor(t), storage.WatchOptions{ResourceVersion: "0", Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	w2.Stop()
	w2.Stop()
	for i, w := range []storage.Watcher{w1, w2} {
		if !closedWithin(w) {
			t.Errorf("watcher %d not closed", i)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.RLock()
		n := len(c.watchers)
		c.mu.RUnlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d watchers still registered", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConcurrentConsistentReads: readers that share one revision read
// still each see every write that finished before they began.
func TestConcurrentConsistentReads(t *testing.T) {
	ctx := context.Background()
	c, s := newCacher(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("w%d", w)
			for i := range 10 {
				// Written to etcd directly: only a fresh revision read
				// tells the cache it must wait for this write.
				var out runtime.Object
				var err error
				if i == 0 {
					out, err = s.Create(ctx, keyOf(t, name), cm(name, nil, "0"))
				} else {
					out, err = s.GuaranteedUpdate(ctx, keyOf(t, name), nil, func(o runtime.Object) (runtime.Object, error) {
						o.(*corev1.ConfigMap).Data["v"] = fmt.Sprint(i)
						return o, nil
					})
				}
				if err != nil {
					errs <- err
					return
				}
				got, err := c.Get(ctx, keyOf(t, name), storage.GetOptions{})
				if err != nil {
					errs <- err
					return
				}
				if rvOf(t, got) < rvOf(t, out) {
					errs <- fmt.Errorf("%s: read rv %d after writing rv %d", name, rvOf(t, got), rvOf(t, out))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestRingGrowsToBound checks the event buffer: it grows on demand, keeps
// the most recent EventBufferSize events in order across growth and
// wrap-around, and moves resumeRV past the dropped ones.
func TestRingGrowsToBound(t *testing.T) {
	for _, tc := range []struct {
		bound, pushed int
		wantLen       int
		wantResume    int64
	}{
		{bound: 40, pushed: 0, wantLen: 0, wantResume: 0},
		{bound: 40, pushed: 10, wantLen: 16, wantResume: 0},
		{bound: 40, pushed: 20, wantLen: 32, wantResume: 0},
		{bound: 40, pushed: 40, wantLen: 40, wantResume: 0},
		{bound: 40, pushed: 100, wantLen: 40, wantResume: 60},
		{bound: 5, pushed: 7, wantLen: 5, wantResume: 2},
	} {
		c := &Cacher{cfg: Config{EventBufferSize: tc.bound}}
		for i := 1; i <= tc.pushed; i++ {
			c.pushLocked(&event{rv: int64(i), key: "k"})
		}
		if len(c.ring) != tc.wantLen || c.resumeRV != tc.wantResume {
			t.Errorf("bound %d, %d pushed: ring of %d, resumeRV %d; want %d, %d", tc.bound, tc.pushed, len(c.ring), c.resumeRV, tc.wantLen, tc.wantResume)
		}
		evs := c.eventsAfterLocked(0, func(string) bool { return true })
		first := max(tc.pushed-tc.bound, 0) + 1
		if len(evs) != tc.pushed-first+1 {
			t.Fatalf("bound %d, %d pushed: %d events kept, want %d", tc.bound, tc.pushed, len(evs), tc.pushed-first+1)
		}
		for i, ev := range evs {
			if ev.rv != int64(first+i) {
				t.Fatalf("bound %d, %d pushed: event %d has rv %d, want %d", tc.bound, tc.pushed, i, ev.rv, first+i)
			}
		}
	}
}

package etcd3

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// next returns the next non-bookmark event (or a bookmark when
// bookmarks is set), failing after 5 s.
func next(t *testing.T, w storage.Watcher, bookmarks bool) storage.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch closed")
			}
			if ev.Type == storage.Bookmark && !bookmarks {
				continue
			}
			return ev
		case <-timeout:
			t.Fatal("no event within 5s")
		}
	}
}

// describe renders an event as "TYPE name=data".
func describe(ev storage.Event) string {
	if ev.Type == storage.ErrorEvent {
		return fmt.Sprintf("ERROR %d", storage.CodeOf(ev.Err))
	}
	c := ev.Object.(*corev1.ConfigMap)
	return fmt.Sprintf("%s %s=%s", ev.Type, c.Name, c.Data["v"])
}

func collect(t *testing.T, w storage.Watcher, n int) []string {
	t.Helper()
	var out []string
	for range n {
		out = append(out, describe(next(t, w, false)))
	}
	return out
}

func update(t *testing.T, s storage.Interface, key, v string, lbls map[string]string) runtime.Object {
	t.Helper()
	out, err := s.GuaranteedUpdate(context.Background(), key, nil, func(o runtime.Object) (runtime.Object, error) {
		c := o.(*corev1.ConfigMap)
		c.Data["v"] = v
		if lbls != nil {
			c.Labels = lbls
		}
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWatch(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	p := prefixFor(t)
	a := mustCreate(t, s, p+"a", cm("a", nil, "1"))
	rvA := strconv.FormatInt(rvOf(t, a), 10)
	update(t, s, p+"a", "2", nil)
	mustCreate(t, s, p+"b", cm("b", nil, "1"))
	f := false
	tests := []struct {
		name string
		key  string
		opts storage.WatchOptions
		// live runs after the watch started.
		live bool
		want []string
	}{
		{name: "from rv", key: p, opts: storage.WatchOptions{ResourceVersion: rvA, Recursive: true}, want: []string{"MODIFIED a=2", "ADDED b=1"}},
		{name: "initial state", key: p, opts: storage.WatchOptions{ResourceVersion: "0", Recursive: true}, want: []string{"ADDED a=2", "ADDED b=1"}},
		{name: "single key", key: p + "a", opts: storage.WatchOptions{ResourceVersion: rvA}, want: []string{"MODIFIED a=2"}},
		{name: "no initial state", key: p, opts: storage.WatchOptions{SendInitialEvents: &f, Recursive: true}, live: true, want: []string{"MODIFIED a=live"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := s.Watch(ctx, tc.key, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			if tc.live {
				// The watch has no initial list to wait for: give etcd's
				// watch time to register before writing.
				time.Sleep(100 * time.Millisecond)
				update(t, s, p+"a", "live", nil)
			}
			if got := collect(t, w, len(tc.want)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("events %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWatchInitialEventsBookmark(t *testing.T) {
	s := newStore()
	p := prefixFor(t)
	mustCreate(t, s, p+"a", cm("a", nil, "1"))
	yes := true
	w, err := s.Watch(context.Background(), p, storage.WatchOptions{SendInitialEvents: &yes, AllowBookmarks: true, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if got := describe(next(t, w, true)); got != "ADDED a=1" {
		t.Fatalf("first event %s", got)
	}
	b := next(t, w, true)
	c := b.Object.(*corev1.ConfigMap)
	if b.Type != storage.Bookmark || c.Annotations[storage.InitialEventsEndAnnotation] != "true" || c.ResourceVersion == "" {
		t.Fatalf("second event %s %+v, want the initial-events-end bookmark", b.Type, c.ObjectMeta)
	}
	update(t, s, p+"a", "2", nil)
	if got := describe(next(t, w, false)); got != "MODIFIED a=2" {
		t.Errorf("live event %s", got)
	}
}

// TestWatchBookmarks relies on the test etcd's 100 ms progress notify
// interval, and on RequestWatchProgress.
func TestWatchBookmarks(t *testing.T) {
	s := newStore()
	p := prefixFor(t)
	a := mustCreate(t, s, p+"a", cm("a", nil, "1"))
	w, err := s.Watch(context.Background(), p, storage.WatchOptions{ResourceVersion: strconv.FormatInt(rvOf(t, a), 10), AllowBookmarks: true, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	// Move the global revision elsewhere; the bookmark must reach it.
	other := mustCreate(t, s, strings.TrimSuffix(p, "/")+"-elsewhere/x", cm("x", nil, ""))
	if err := s.RequestWatchProgress(context.Background()); err != nil {
		t.Fatal(err)
	}
	for {
		ev := next(t, w, true)
		if ev.Type != storage.Bookmark {
			t.Fatalf("unexpected %s", describe(ev))
		}
		if rvOf(t, ev.Object) >= rvOf(t, other) {
			return
		}
	}
}

func TestWatchTransitions(t *testing.T) {
	s := newStore()
	p := prefixFor(t)
	a := mustCreate(t, s, p+"a", cm("a", map[string]string{"x": "1"}, "1"))
	w, err := s.Watch(context.Background(), p, storage.WatchOptions{
		ResourceVersion: strconv.FormatInt(rvOf(t, a), 10), Recursive: true, Predicate: labelPredicate(t, "x=1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	update(t, s, p+"a", "2", nil)                         // still matches
	update(t, s, p+"a", "3", map[string]string{"x": "2"}) // leaves
	update(t, s, p+"a", "4", nil)                         // still out
	update(t, s, p+"a", "5", map[string]string{"x": "1"}) // enters
	if _, err := s.Delete(context.Background(), p+"a", nil, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"MODIFIED a=2", "DELETED a=2", "ADDED a=5", "DELETED a=5"}
	if got := collect(t, w, len(want)); !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestWatchCompacted(t *testing.T) {
	s := newStore()
	p := prefixFor(t)
	a := mustCreate(t, s, p+"a", cm("a", nil, "1"))
	update(t, s, p+"a", "2", nil)
	update(t, s, p+"a", "3", nil)
	compactNow(t)
	w, err := s.Watch(context.Background(), p, storage.WatchOptions{ResourceVersion: strconv.FormatInt(rvOf(t, a), 10), Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := next(t, w, false)
	if ev.Type != storage.ErrorEvent || storage.CodeOf(ev.Err) != storage.ErrCodeResourceVersionTooOld {
		t.Fatalf("got %s, want a too-old error", describe(ev))
	}
	select {
	case _, ok := <-w.ResultChan():
		if ok {
			t.Error("watch not closed after its error")
		}
	case <-time.After(5 * time.Second):
		t.Error("watch not closed after its error")
	}
}

func TestWatchStop(t *testing.T) {
	s := newStore()
	ctx, cancel := context.WithCancel(context.Background())
	w1, err := s.Watch(ctx, prefixFor(t), storage.WatchOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	w2, err := s.Watch(context.Background(), prefixFor(t), storage.WatchOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	w2.Stop()
	w2.Stop() // idempotent
	for _, w := range []storage.Watcher{w1, w2} {
		select {
		case <-drained(w):
		case <-time.After(5 * time.Second):
			t.Fatal("watch not closed")
		}
	}
}

// drained is closed once w's channel is closed.
func drained(w storage.Watcher) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		for range w.ResultChan() {
		}
		close(done)
	}()
	return done
}

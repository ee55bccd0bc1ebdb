package queue

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

func TestQueueRetriesUntilSuccess(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	done := make(chan struct{})
	q := New("test", func(_ context.Context, key string) error {
		mu.Lock()
		defer mu.Unlock()
		calls[key]++
		if key == "flaky" && calls[key] < 3 {
			return errors.New("not yet")
		}
		if calls["flaky"] == 3 && calls["ok"] == 1 {
			close(done)
		}
		return nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { q.Run(ctx, 2, func() bool { return true }); close(stopped) }()
	q.Add("flaky")
	q.Add("ok")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("calls %v", calls)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["flaky"] != 3 || calls["ok"] != 1 {
		t.Errorf("calls %v", calls)
	}
}

// plainListWatch lists (the informer asks for no initial events on a
// watch).
type plainListWatch struct{ *cache.ListWatch }

func (plainListWatch) IsWatchListSemanticsUnSupported() bool { return true }

// listWatch serves objs as the first list; its watch sends nothing.
// block holds the list back until closed.
func listWatch(objs []corev1.ConfigMap, block chan struct{}) cache.ListerWatcher {
	return plainListWatch{&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, _ metav1.ListOptions) (runtime.Object, error) {
			select {
			case <-block:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return &corev1.ConfigMapList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: objs}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			return watch.NewFake(), nil
		},
	}}
}

func TestQueueWaitsForFollowedInformers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		objs   []string
		listed bool // the list answers
	}{
		{"three objects", []string{"a", "b", "c"}, true},
		{"empty list", nil, true},
		{"list never answers", []string{"a"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var objs []corev1.ConfigMap
			for _, n := range tc.objs {
				objs = append(objs, corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: n, ResourceVersion: "1"}})
			}
			block := make(chan struct{})
			if tc.listed {
				close(block)
			}
			inf := cache.NewSharedIndexInformer(listWatch(objs, block), &corev1.ConfigMap{}, 0, cache.Indexers{})
			var mu sync.Mutex
			var seen []string
			q := New("test", func(_ context.Context, key string) error {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, key)
				return nil
			}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err := q.Follow(inf); err != nil {
				t.Fatal(err)
			}
			var qlen int
			checked := false
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go inf.RunWithContext(ctx)
			ran := make(chan struct{})
			go func() {
				defer close(ran)
				// The first sync call sees every listed key queued.
				q.Run(ctx, 1, func() bool {
					mu.Lock()
					defer mu.Unlock()
					if !checked {
						qlen, checked = q.q.Len(), true
					}
					return true
				})
			}()
			deadline := time.After(10 * time.Second)
			for tc.listed {
				mu.Lock()
				done := checked && len(seen) == len(tc.objs)
				mu.Unlock()
				if done {
					break
				}
				select {
				case <-deadline:
					t.Fatalf("synced %v, want %v", seen, tc.objs)
				case <-time.After(time.Millisecond):
				}
			}
			cancel()
			select {
			case <-ran:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
			mu.Lock()
			defer mu.Unlock()
			if !tc.listed {
				if len(seen) != 0 {
					t.Errorf("synced %v before the informer listed", seen)
				}
				return
			}
			if !checked || qlen != len(tc.objs) {
				t.Errorf("%d keys queued when the workers started, want %d", qlen, len(tc.objs))
			}
		})
	}
}

package cacher

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
	"github.com/kastle-dev/kastle/internal/storage/etcd3"
	"github.com/kastle-dev/kastle/internal/storage/etcdtest"
)

// countingCacher is a ready cache over an etcd3 store whose etcd calls
// are counted.
func countingCacher(t testing.TB) (*Cacher, *etcd3.Store, *etcdtest.Counts) {
	t.Helper()
	client, counts := etcdtest.Counting(testClient)
	s := etcd3.New(client, newCodec(), storage.APIObjectVersioner{}, etcd3.WithNewFunc(newConfigMap))
	c, _ := newCacher(t, func(cfg *Config) { cfg.Storage = s })
	return c, s, counts
}

// TestUpdateFromCache: with the cache current, an update is one etcd
// transaction and no read; tryUpdate works on a copy, never on the
// cached object that readers share.
func TestUpdateFromCache(t *testing.T) {
	ctx := context.Background()
	c, _, counts := countingCacher(t)
	created := mustCreate(t, c, "a", nil, "1")
	key := keyOf(t, "a")
	cached, err := c.Get(ctx, key, storage.GetOptions{ResourceVersion: strconv.FormatInt(rvOf(t, created), 10)})
	if err != nil {
		t.Fatal(err)
	}
	pristine := cached.DeepCopyObject()
	counts.Reset()
	out, err := c.GuaranteedUpdate(ctx, key, nil, func(cur runtime.Object) (runtime.Object, error) {
		if cur == cached {
			t.Error("tryUpdate got the cached object itself")
		}
		cur.(*corev1.ConfigMap).Data["v"] = "2"
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if gets, txns := counts.Gets.Load(), counts.Txns.Load(); gets != 0 || txns != 1 {
		t.Errorf("%d reads and %d transactions, want 0 and 1", gets, txns)
	}
	if !reflect.DeepEqual(cached, pristine) {
		t.Errorf("the cached object was modified: %v", cached)
	}
	if got := out.(*corev1.ConfigMap).Data["v"]; got != "2" || rvOf(t, out) <= rvOf(t, created) {
		t.Errorf("answer %v", out)
	}

	// Back to back, the next update usually starts before the watch event
	// of the previous one: the state the write returned is the guess.
	counts.Reset()
	const n = 20
	for i := range n {
		guess := c.guess(key)
		out, err = c.GuaranteedUpdate(ctx, key, nil, func(cur runtime.Object) (runtime.Object, error) {
			if cur == guess {
				t.Error("tryUpdate got the shared guess itself")
			}
			cur.(*corev1.ConfigMap).Data["v"] = strconv.Itoa(i)
			return cur, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if gets, txns := counts.Gets.Load(), counts.Txns.Load(); gets != 0 || txns != n {
		t.Errorf("%d updates: %d reads and %d transactions, want 0 and %d", n, gets, txns, n)
	}
	if _, err := c.Get(ctx, key, storage.GetOptions{ResourceVersion: strconv.FormatInt(rvOf(t, out), 10)}); err != nil {
		t.Fatal(err)
	}
	c.wmu.Lock()
	left := len(c.written)
	c.wmu.Unlock()
	if left != 0 {
		t.Errorf("%d written states kept after the cache caught up", left)
	}
}

// TestConcurrentUpdatesLoseNothing increments a counter from writers
// through the cache and from one that bypasses it, so the cache's copy
// is often stale when an update starts: every increment must land once,
// and every answer must be a distinct state. Afterwards the cached
// object's resourceVersion is the key's ModRevision.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	ctx := context.Background()
	c, s, counts := countingCacher(t)
	mustCreate(t, c, "n", nil, "0")
	key := keyOf(t, "n")
	incr := func(cur runtime.Object) (runtime.Object, error) {
		m := cur.(*corev1.ConfigMap)
		n, err := strconv.Atoi(m.Data["v"])
		if err != nil {
			return nil, err
		}
		m.Data["v"] = strconv.Itoa(n + 1)
		return m, nil
	}
	const writers, each = 4, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	counts.Reset()
	for w := range writers + 1 {
		var st storage.Interface = c
		if w == writers {
			st = s
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				out, err := st.GuaranteedUpdate(ctx, key, nil, incr)
				if err != nil {
					t.Error(err)
					return
				}
				v := out.(*corev1.ConfigMap).Data["v"]
				mu.Lock()
				if seen[v] {
					t.Errorf("two updates answered %s", v)
				}
				seen[v] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d updates: %d reads, %d transactions", (writers+1)*each, counts.Gets.Load(), counts.Txns.Load())
	resp, err := testClient.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(resp.Kvs[0].Value), `"v":"`+strconv.Itoa((writers+1)*each)+`"`; !strings.Contains(got, want) {
		t.Errorf("stored %s, want %s", got, want)
	}
	cached, err := c.Get(ctx, key, storage.GetOptions{ResourceVersion: strconv.FormatInt(resp.Kvs[0].ModRevision, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if got := rvOf(t, cached); got != resp.Kvs[0].ModRevision {
		t.Errorf("cached object at resourceVersion %d, key's ModRevision %d", got, resp.Kvs[0].ModRevision)
	}
}

package embedded

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func startServer(t testing.TB, grpcClient bool) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Start(ctx, Config{Dir: t.TempDir(), UnsafeNoFsync: true, GRPCClient: grpcClient, ProgressNotifyInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStartRestart(t *testing.T) {
	dir := t.TempDir() + "/etcd"
	ctx := context.Background()
	start := time.Now()
	s, err := Start(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cold start took %s", time.Since(start))
	if _, err := s.Client().Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v, want 0700", fi.Mode().Perm())
	}
	start = time.Now()
	s, err = Start(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Logf("warm start took %s", time.Since(start))
	resp, err := s.Client().Get(ctx, "/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("after restart got %v", resp.Kvs)
	}
}

func TestStartRequiresDir(t *testing.T) {
	if _, err := Start(context.Background(), Config{}); err == nil {
		t.Fatal("Start without Dir succeeded")
	}
}

// TestClientWatch checks what the storage layer relies on, for both
// client kinds: watches with prevKV, progress notifications and
// RequestProgress.
func TestClientWatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		grpc bool
	}{{"in-process", false}, {"grpc", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.grpc)
			c := s.Client()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			put, err := c.Put(ctx, "/w/a", "1")
			if err != nil {
				t.Fatal(err)
			}
			wc := c.Watch(ctx, "/w/", clientv3.WithPrefix(), clientv3.WithRev(put.Header.Revision), clientv3.WithPrevKV(), clientv3.WithProgressNotify())
			if _, err := c.Put(ctx, "/w/a", "2"); err != nil {
				t.Fatal(err)
			}
			var events []*clientv3.Event
			for len(events) < 2 {
				wr := <-wc
				if err := wr.Err(); err != nil {
					t.Fatal(err)
				}
				events = append(events, wr.Events...)
			}
			if string(events[1].Kv.Value) != "2" || events[1].PrevKv == nil || string(events[1].PrevKv.Value) != "1" {
				t.Fatalf("second event %v", events[1])
			}
			// Another key moves the revision; RequestProgress must tell
			// the idle watch about it.
			other, err := c.Put(ctx, "/other", "x")
			if err != nil {
				t.Fatal(err)
			}
			if err := c.RequestProgress(ctx); err != nil {
				t.Fatal(err)
			}
			for {
				wr := <-wc
				if wr.Err() != nil {
					t.Fatal(wr.Err())
				}
				if wr.IsProgressNotify() && wr.Header.Revision >= other.Header.Revision {
					break
				}
			}
		})
	}
}

func TestCompactor(t *testing.T) {
	s := startServer(t, false)
	c := s.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, err := c.Put(ctx, "/c/a", "1")
	if err != nil {
		t.Fatal(err)
	}
	StartCompactor(ctx, c, 50*time.Millisecond, nil, nil)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.Put(ctx, "/c/a", "2"); err != nil {
			t.Fatal(err)
		}
		_, err := c.Get(ctx, "/c/a", clientv3.WithRev(first.Header.Revision))
		if errors.Is(err, rpctypes.ErrCompacted) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("revision never compacted")
}

// TestCompactOnceSharesWork checks that of two API servers compacting the
// same etcd, only one compacts per interval.
func TestCompactOnceSharesWork(t *testing.T) {
	s := startServer(t, false)
	c := s.Client()
	ctx := context.Background()
	v1, r1, err := compactOnce(ctx, c, 0, 0)
	if err != nil || v1 != 1 {
		t.Fatalf("first claim: version %d err %v", v1, err)
	}
	// A second server that has not seen the claim loses and adopts it.
	v2, _, err := compactOnce(ctx, c, 0, 0)
	if err != nil || v2 != 1 {
		t.Fatalf("second claim: version %d err %v", v2, err)
	}
	v3, _, err := compactOnce(ctx, c, v1, r1)
	if err != nil || v3 != 2 {
		t.Fatalf("next interval: version %d err %v", v3, err)
	}
	if _, err := c.Get(ctx, "x", clientv3.WithRev(r1-1)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("revision %d not compacted: %v", r1-1, err)
	}
}

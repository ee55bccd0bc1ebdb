package embedded

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// fragment writes n keys of size bytes under /f/, deletes all but keep of
// them and compacts the history physically, leaving mostly free pages.
func fragment(t testing.TB, c *clientv3.Client, n, size, keep int) {
	t.Helper()
	ctx := context.Background()
	val := strings.Repeat("x", size)
	for i := range n {
		if _, err := c.Put(ctx, fmt.Sprintf("/f/%06d", i), val); err != nil {
			t.Fatal(err)
		}
	}
	var rev int64
	for i := keep; i < n; i++ {
		resp, err := c.Delete(ctx, fmt.Sprintf("/f/%06d", i))
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	if _, err := c.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
}

func TestMaybeDefragment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy DefragPolicy
		want   bool
	}{
		{"disabled", DefragPolicy{}, false},
		{"not enough free bytes", DefragPolicy{FreeFraction: 0.5, MinFreeBytes: 1 << 40}, false},
		{"fraction not reached", DefragPolicy{FreeFraction: 1, MinFreeBytes: 1 << 20}, false},
		{"mostly free", DefragPolicy{FreeFraction: 0.5, MinFreeBytes: 1 << 20}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, false)
			c := s.Client()
			fragment(t, c, 2000, 4096, 10)
			r, err := s.MaybeDefragment(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			if r.Defragmented != tc.want {
				t.Fatalf("defragmented %v, want %v (%+v)", r.Defragmented, tc.want, r)
			}
			if tc.policy.FreeFraction > 0 && r.Size-r.InUse < 4<<20 {
				t.Errorf("only %d of %d bytes free after deleting 8 MB", r.Size-r.InUse, r.Size)
			}
			if tc.want && r.After*2 > r.Size {
				t.Errorf("file %d bytes after, %d before: not shrunk by half", r.After, r.Size)
			}
			if !tc.want && r.After != r.Size {
				t.Errorf("file changed from %d to %d without a defragmentation", r.Size, r.After)
			}
			// The live keys survive and the member still takes writes.
			resp, err := c.Get(context.Background(), "/f/", clientv3.WithPrefix(), clientv3.WithCountOnly())
			if err != nil || resp.Count != 10 {
				t.Fatalf("after: %d keys, err %v; want 10", resp.Count, err)
			}
			if _, err := c.Put(context.Background(), "/f/after", "v"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCompactorDefragments checks the wiring the API server uses: the
// compactor's hook defragments once a compaction left the file mostly
// free.
func TestCompactorDefragments(t *testing.T) {
	s := startServer(t, false)
	c := s.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	val := strings.Repeat("x", 4096)
	for i := range 2000 {
		if _, err := c.Put(ctx, fmt.Sprintf("/f/%06d", i), val); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Delete(ctx, "/f/", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	results := make(chan DefragResult, 100)
	StartCompactor(ctx, c, 50*time.Millisecond, nil, func(context.Context) {
		r, err := s.MaybeDefragment(DefragPolicy{FreeFraction: 0.5, MinFreeBytes: 1 << 20})
		if err != nil {
			t.Error(err)
		}
		results <- r
	})
	deadline := time.After(20 * time.Second)
	for {
		select {
		case r := <-results:
			if r.Defragmented {
				if r.After*2 > r.Size {
					t.Fatalf("file %d bytes after, %d before", r.After, r.Size)
				}
				return
			}
		case <-deadline:
			t.Fatal("no defragmentation after the deletes were compacted")
		}
	}
}

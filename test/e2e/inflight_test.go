package e2e

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestInFlightLimit runs a server allowing one read at a time. A list
// asking for a resourceVersion far ahead of etcd waits (up to ~3 s) for
// it, holding the only slot: another read meanwhile gets 429 with
// Retry-After, and a watch, being long-running, is not limited.
func TestInFlightLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--max-requests-inflight=1", "--max-mutating-requests-inflight=1")
	creds := extractAdmin(t, s)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		curl(t, s, &creds, "/api/v1/namespaces/default/configmaps?resourceVersion=999999999")
	}()
	time.Sleep(500 * time.Millisecond)
	r := curl(t, s, &creds, "/api/v1/namespaces/default/configmaps", "-D", "-")
	if r.status != 429 || !strings.Contains(strings.ToLower(r.body), "retry-after: 1") || !strings.Contains(r.body, `"reason":"TooManyRequests"`) {
		t.Errorf("second read while the only slot is taken: %d %s", r.status, r.body)
	}
	w := curl(t, s, &creds, "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1")
	if w.status != 200 {
		t.Errorf("watch while the read slot is taken: %d", w.status)
	}
	wg.Wait()
	if r := curl(t, s, &creds, "/api/v1/namespaces/default/configmaps"); r.status != 200 {
		t.Errorf("read after the slot is free: %d", r.status)
	}
}

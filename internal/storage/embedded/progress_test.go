package embedded

import (
	"context"
	"strings"
	"testing"
)

func TestProgressNotifySafe(t *testing.T) {
	for v, want := range map[string]bool{
		"3.4.23": false, "3.4.30": false, "3.4.31": true, "3.4.40": true,
		"3.5.0": false, "3.5.12": false, "3.5.13": true, "3.5.16": true,
		"3.6.0": true, "3.7.3": true, "4.0.0": true, "3.3.27": false, "2.3.8": false,
		"v3.5.13": true, "3.5.13-rc.0": true, "3.5": false, "": false, "x.y.z": false,
	} {
		if got := ProgressNotifyFixed(v); got != want {
			t.Errorf("ProgressNotifyFixed(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestProgressNotifySafeLive asks a real member: the embedded etcd is a
// release with the fix.
func TestProgressNotifySafeLive(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Config{Dir: t.TempDir() + "/etcd", UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := NewClient(ClientConfig{Endpoints: []string{s.Endpoint()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	safe, version, err := ProgressNotifySafe(ctx, c)
	if err != nil || !safe || !strings.HasPrefix(version, "3.") {
		t.Fatalf("ProgressNotifySafe = %v, %q, %v; want true for the embedded release", safe, version, err)
	}
	// The in-process client has no endpoints to ask: not trusted.
	if safe, _, err := ProgressNotifySafe(ctx, s.Client()); safe || err == nil {
		t.Errorf("client without endpoints: %v, %v; want false and an error", safe, err)
	}
}

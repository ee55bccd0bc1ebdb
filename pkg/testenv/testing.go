package testenv

import (
	"context"
	"testing"
)

// New starts an environment for a test or benchmark and stops it (with
// t.Cleanup) when the test ends. If it cannot start, New fails the test
// at once with the error and the server's last log lines.
func New(t testing.TB, opts Options) *Environment {
	t.Helper()
	e, logs, err := start(context.Background(), opts)
	if err != nil {
		t.Fatalf("%v\nlast lines of the server's log:\n%s", err, logs.last())
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("%v\nlast lines of the server's log:\n%s", err, e.Logs())
		}
	})
	return e
}

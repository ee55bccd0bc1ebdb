package etcdtest

import (
	"context"
	"fmt"
	"os"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kastle-dev/kastle/internal/storage/embedded"
)

// Run starts an embedded etcd in a temporary directory (fsync off: test
// data need not survive a crash), points *client at it, runs the tests and
// removes everything. Call it from TestMain: os.Exit(etcdtest.Run(m, &c)).
// configure, if given, adjusts the etcd configuration first.
func Run(m *testing.M, client **clientv3.Client, configure ...func(*embedded.Config)) int {
	dir, err := os.MkdirTemp("", "kastle-etcd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cfg := embedded.Config{Dir: dir, UnsafeNoFsync: true}
	for _, f := range configure {
		f(&cfg)
	}
	srv, err := embedded.Start(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting etcd for tests:", err)
		return 1
	}
	defer srv.Close()
	*client = srv.Client()
	return m.Run()
}

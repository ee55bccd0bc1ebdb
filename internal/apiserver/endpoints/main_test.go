package endpoints

import (
	"os"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kastle-dev/kastle/internal/storage/etcdtest"
)

// testClient is the client of the etcd started once for the package.
var testClient *clientv3.Client

func TestMain(m *testing.M) { os.Exit(etcdtest.Run(m, &testClient)) }

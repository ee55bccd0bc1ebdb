package etcdtest

import (
	"context"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Counts are the KV calls a client made through Counting: Gets are range
// reads on their own, Txns are transactions (whose Else branch may read).
type Counts struct {
	Gets atomic.Int64
	Txns atomic.Int64
}

// Reset sets both counts to zero.
func (c *Counts) Reset() {
	c.Gets.Store(0)
	c.Txns.Store(0)
}

// Counting returns a client that shares c's connection and counts its KV
// calls, so tests and benchmarks can tell how many etcd round trips an
// operation took. Closing it does not close c.
func Counting(c *clientv3.Client) (*clientv3.Client, *Counts) {
	counts := &Counts{}
	out := clientv3.NewCtxClient(c.Ctx())
	out.KV = countingKV{KV: c.KV, counts: counts}
	out.Watcher = c.Watcher
	out.Lease = c.Lease
	out.Cluster = c.Cluster
	out.Maintenance = c.Maintenance
	out.Auth = c.Auth
	return out, counts
}

type countingKV struct {
	clientv3.KV
	counts *Counts
}

func (k countingKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	k.counts.Gets.Add(1)
	return k.KV.Get(ctx, key, opts...)
}

func (k countingKV) Txn(ctx context.Context) clientv3.Txn {
	k.counts.Txns.Add(1)
	return k.KV.Txn(ctx)
}

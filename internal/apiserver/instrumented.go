package apiserver

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// instrumented times every call that reaches etcd, by operation and
// resource prefix (kube-apiserver's etcd_request_duration_seconds).
type instrumented struct {
	next     storage.Interface
	resource string
	hist     *prometheus.HistogramVec
}

var _ storage.Interface = (*instrumented)(nil)

func (i *instrumented) observe(op string, start time.Time) {
	i.hist.WithLabelValues(op, i.resource).Observe(time.Since(start).Seconds())
}

func (i *instrumented) Create(ctx context.Context, key string, obj runtime.Object) (runtime.Object, error) {
	defer i.observe("create", time.Now())
	return i.next.Create(ctx, key, obj)
}

func (i *instrumented) Get(ctx context.Context, key string, opts storage.GetOptions) (runtime.Object, error) {
	defer i.observe("get", time.Now())
	return i.next.Get(ctx, key, opts)
}

func (i *instrumented) GetList(ctx context.Context, key string, opts storage.ListOptions) (*storage.ListResult, error) {
	defer i.observe("list", time.Now())
	return i.next.GetList(ctx, key, opts)
}

func (i *instrumented) GuaranteedUpdate(ctx context.Context, key string, p *storage.Preconditions, f storage.UpdateFunc) (runtime.Object, error) {
	defer i.observe("update", time.Now())
	return i.next.GuaranteedUpdate(ctx, key, p, f)
}

var _ storage.GuessUpdater = (*instrumented)(nil)

// GuaranteedUpdateFrom keeps the watch cache's guess (see
// storage.GuessUpdater) on its way to the etcd store.
func (i *instrumented) GuaranteedUpdateFrom(ctx context.Context, key string, guess runtime.Object, p *storage.Preconditions, f storage.UpdateFunc) (runtime.Object, error) {
	defer i.observe("update", time.Now())
	if g, ok := i.next.(storage.GuessUpdater); ok {
		return g.GuaranteedUpdateFrom(ctx, key, guess, p, f)
	}
	return i.next.GuaranteedUpdate(ctx, key, p, f)
}

func (i *instrumented) Delete(ctx context.Context, key string, p *storage.Preconditions, v storage.ValidateDeleteFunc) (runtime.Object, error) {
	defer i.observe("delete", time.Now())
	return i.next.Delete(ctx, key, p, v)
}

func (i *instrumented) Watch(ctx context.Context, key string, opts storage.WatchOptions) (storage.Watcher, error) {
	return i.next.Watch(ctx, key, opts)
}

func (i *instrumented) Count(ctx context.Context, key string) (int64, error) {
	defer i.observe("count", time.Now())
	return i.next.Count(ctx, key)
}

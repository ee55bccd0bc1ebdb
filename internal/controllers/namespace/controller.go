package namespace

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/storage"
)

// Content lists the stores of every namespaced resource, one per etcd
// prefix, at the time of the call (custom resources come and go).
type Content interface {
	NamespacedStores() []*registry.Store
}

// Controller finalizes terminating namespaces.
type Controller struct {
	Namespaces *registry.Store
	Content    Content
	Log        *slog.Logger
	// Resync is how often terminating namespaces are re-examined while
	// their content waits on finalizers.
	Resync time.Duration
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	kick := make(chan struct{}, 1)
	go c.watch(ctx, kick)
	t := time.NewTicker(c.Resync)
	defer t.Stop()
	for {
		c.syncAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-t.C:
		}
	}
}

// watch pokes the loop whenever a namespace changes.
func (c *Controller) watch(ctx context.Context, kick chan<- struct{}) {
	for ctx.Err() == nil {
		w, err := c.Namespaces.Watch(ctx, "", &metav1.ListOptions{})
		if err != nil {
			// Wait, but not past the end: Stop must not leave this behind.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for ev := range w.ResultChan() {
			if ev.Type == storage.Modified || ev.Type == storage.Added {
				select {
				case kick <- struct{}{}:
				default:
				}
			}
		}
		w.Stop()
	}
}

func (c *Controller) syncAll(ctx context.Context) {
	list, err := c.Namespaces.List(ctx, "", &metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return
	}
	for _, ns := range list.(*corev1.NamespaceList).Items {
		if ns.DeletionTimestamp == nil || !hasFinalizer(&ns) {
			continue
		}
		if err := c.finalize(ctx, ns.Name); err != nil && ctx.Err() == nil {
			c.Log.Warn("finalizing namespace", "namespace", ns.Name, "err", err)
		}
	}
}

func hasFinalizer(ns *corev1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return true
		}
	}
	return false
}

// finalize deletes the namespace's content; once nothing is left it
// releases the namespace.
func (c *Controller) finalize(ctx context.Context, name string) error {
	remaining := 0
	for _, st := range c.Content.NamespacedStores() {
		list, err := st.DeleteCollection(ctx, name, &metav1.ListOptions{}, &metav1.DeleteOptions{}, false)
		if err != nil {
			return err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, it := range items {
			if acc, err := meta.Accessor(it); err == nil && len(acc.GetFinalizers()) > 0 {
				remaining++
			}
		}
	}
	if remaining > 0 {
		return nil // wait for the finalizers; the resync comes back
	}
	_, err := c.Namespaces.Update(ctx, "", name, func(cur runtime.Object) (runtime.Object, error) {
		ns := cur.(*corev1.Namespace)
		var keep []corev1.FinalizerName
		for _, f := range ns.Spec.Finalizers {
			if f != corev1.FinalizerKubernetes {
				keep = append(keep, f)
			}
		}
		ns.Spec.Finalizers = keep
		return ns, nil
	}, registry.WriteOptions{FieldManager: "kastle-namespace-controller"})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

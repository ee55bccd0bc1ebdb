package garbagecollector

import (
	"context"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/registry"
)

// Stores gives access to the registry.
type Stores interface {
	// AllStores returns one store per etcd prefix.
	AllStores() []*registry.Store
	// Store returns the store of a served resource.
	Store(r *apis.Resource) (*registry.Store, bool)
}

type item struct {
	r   *apis.Resource
	obj runtime.Object
}

// Controller is the garbage collector. Create it with New.
type Controller struct {
	stores Stores
	log    *slog.Logger
	queue  chan item
	// retry is how long to wait before re-examining an owner whose
	// dependents are still being deleted.
	retry time.Duration
}

var _ registry.DeletionObserver = (*Controller)(nil)

// New returns a collector; call Run to start it.
func New(stores Stores, log *slog.Logger) *Controller {
	return &Controller{stores: stores, log: log, queue: make(chan item, 10000), retry: time.Second}
}

// ObjectDeleting queues an owner whose deletion may need propagating.
func (c *Controller) ObjectDeleting(r *apis.Resource, obj runtime.Object) {
	select {
	case c.queue <- item{r, obj}:
	default:
		c.log.Warn("garbage collector queue full; dependents may remain", "resource", r.String())
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-c.queue:
			again, err := c.process(ctx, it)
			if err != nil && ctx.Err() == nil {
				c.log.Warn("garbage collection", "resource", it.r.String(), "err", err)
				again = true
			}
			if again {
				time.AfterFunc(c.retry, func() { c.ObjectDeleting(it.r, it.obj) })
			}
		}
	}
}

// process handles one owner; again asks for a later retry.
func (c *Controller) process(ctx context.Context, it item) (again bool, err error) {
	owner, err := meta.Accessor(it.obj)
	if err != nil {
		return false, err
	}
	store, ok := c.stores.Store(it.r)
	if !ok {
		return false, nil
	}
	cur, err := store.Get(ctx, owner.GetNamespace(), owner.GetName(), "")
	if apierrors.IsNotFound(err) {
		// The owner is gone: delete its dependents (Background).
		_, err := c.deleteDependents(ctx, owner, metav1.DeletePropagationBackground)
		return false, err
	}
	if err != nil {
		return false, err
	}
	live, _ := meta.Accessor(cur)
	if live.GetUID() != owner.GetUID() || live.GetDeletionTimestamp() == nil {
		return false, nil // a new object of the same name, or not deleting
	}
	switch {
	case has(live.GetFinalizers(), metav1.FinalizerOrphanDependents):
		if err := c.orphan(ctx, live); err != nil {
			return false, err
		}
		return false, c.dropFinalizer(ctx, store, live, metav1.FinalizerOrphanDependents)
	case has(live.GetFinalizers(), metav1.FinalizerDeleteDependents):
		remaining, err := c.deleteDependents(ctx, live, metav1.DeletePropagationForeground)
		if err != nil {
			return false, err
		}
		if remaining > 0 {
			return true, nil
		}
		return false, c.dropFinalizer(ctx, store, live, metav1.FinalizerDeleteDependents)
	}
	return false, nil
}

// dependent is an object with an owner reference to the owner.
type dependent struct {
	store *registry.Store
	obj   metav1.Object
}

func (c *Controller) dependents(ctx context.Context, owner metav1.Object) ([]dependent, error) {
	var out []dependent
	for _, st := range c.stores.AllStores() {
		ns := ""
		if st.Resource.Namespaced {
			// Namespaced owners own objects of their namespace only;
			// cluster-scoped owners may own objects anywhere.
			ns = owner.GetNamespace()
		} else if owner.GetNamespace() != "" {
			continue
		}
		list, err := st.List(ctx, ns, &metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, err
		}
		for _, obj := range items {
			acc, err := meta.Accessor(obj)
			if err != nil {
				continue
			}
			if ownedBy(acc, owner.GetUID()) {
				out = append(out, dependent{st, acc})
			}
		}
	}
	return out, nil
}

func ownedBy(obj metav1.Object, uid types.UID) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == uid {
			return true
		}
	}
	return false
}

// deleteDependents deletes every dependent with policy and returns how
// many still exist.
func (c *Controller) deleteDependents(ctx context.Context, owner metav1.Object, policy metav1.DeletionPropagation) (int, error) {
	deps, err := c.dependents(ctx, owner)
	if err != nil {
		return 0, err
	}
	remaining := 0
	for _, d := range deps {
		if d.obj.GetDeletionTimestamp() != nil {
			remaining++
			continue
		}
		uid := d.obj.GetUID()
		res, err := d.store.Delete(ctx, d.obj.GetNamespace(), d.obj.GetName(), &metav1.DeleteOptions{
			PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid},
		}, false)
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if !res.Immediate {
			remaining++
		}
	}
	return remaining, nil
}

// orphan removes the owner's references from its dependents.
func (c *Controller) orphan(ctx context.Context, owner metav1.Object) error {
	deps, err := c.dependents(ctx, owner)
	if err != nil {
		return err
	}
	for _, d := range deps {
		_, err := d.store.Update(ctx, d.obj.GetNamespace(), d.obj.GetName(), func(cur runtime.Object) (runtime.Object, error) {
			acc, err := meta.Accessor(cur)
			if err != nil {
				return nil, err
			}
			var keep []metav1.OwnerReference
			for _, ref := range acc.GetOwnerReferences() {
				if ref.UID != owner.GetUID() {
					keep = append(keep, ref)
				}
			}
			acc.SetOwnerReferences(keep)
			return cur, nil
		}, registry.WriteOptions{FieldManager: "kastle-garbage-collector"})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

func (c *Controller) dropFinalizer(ctx context.Context, st *registry.Store, owner metav1.Object, finalizer string) error {
	_, err := st.Update(ctx, owner.GetNamespace(), owner.GetName(), func(cur runtime.Object) (runtime.Object, error) {
		acc, err := meta.Accessor(cur)
		if err != nil {
			return nil, err
		}
		var keep []string
		for _, f := range acc.GetFinalizers() {
			if f != finalizer {
				keep = append(keep, f)
			}
		}
		acc.SetFinalizers(keep)
		return cur, nil
	}, registry.WriteOptions{FieldManager: "kastle-garbage-collector"})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package garbagecollector

import (
	"context"
	"log/slog"
	"sync"
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
	// Store returns the store of a served resource.
	Store(r *apis.Resource) (*registry.Store, bool)
}

// dependent names an object with an owner reference.
type dependent struct {
	r         *apis.Resource
	namespace string
	name      string
	uid       types.UID
}

// owner is a queued owner: its resource and last known state.
type owner struct {
	r   *apis.Resource
	obj metav1.Object
}

// Controller is the garbage collector. Create it with New.
type Controller struct {
	stores Stores
	log    *slog.Logger
	queue  chan owner
	retry  time.Duration

	mu         sync.Mutex
	dependents map[types.UID]map[dependent]struct{}
}

var _ registry.WriteObserver = (*Controller)(nil)

// New returns a collector; call Seed with the existing objects and Run to
// start it.
func New(stores Stores, log *slog.Logger) *Controller {
	return &Controller{
		stores: stores, log: log, queue: make(chan owner, 4096), retry: time.Second,
		dependents: map[types.UID]map[dependent]struct{}{},
	}
}

// Seed indexes the owner references of every object in stores.
func (c *Controller) Seed(ctx context.Context, stores []*registry.Store) error {
	for _, st := range stores {
		list, err := st.List(ctx, "", &metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, it := range items {
			c.ObjectWritten(st.Resource, nil, it)
		}
	}
	return nil
}

// ObjectWritten keeps the owner index and queues owners whose deletion
// must be propagated.
func (c *Controller) ObjectWritten(r *apis.Resource, old, obj runtime.Object) {
	var oldAcc, newAcc metav1.Object
	if old != nil {
		oldAcc, _ = meta.Accessor(old)
	}
	if obj != nil {
		newAcc, _ = meta.Accessor(obj)
	}
	c.mu.Lock()
	if oldAcc != nil {
		c.unindex(r, oldAcc)
	}
	if newAcc != nil {
		c.index(r, newAcc)
	}
	var queue metav1.Object
	switch {
	case newAcc == nil && oldAcc != nil && len(c.dependents[oldAcc.GetUID()]) > 0:
		queue = oldAcc // gone, with dependents: Background
	case newAcc != nil && newAcc.GetDeletionTimestamp() != nil &&
		(has(newAcc.GetFinalizers(), metav1.FinalizerDeleteDependents) || has(newAcc.GetFinalizers(), metav1.FinalizerOrphanDependents)):
		queue = newAcc
	}
	c.mu.Unlock()
	if queue != nil {
		c.enqueue(owner{r, queue})
	}
}

func (c *Controller) enqueue(o owner) {
	select {
	case c.queue <- o:
	default:
		// Never block a write: try again shortly.
		time.AfterFunc(c.retry, func() { c.enqueue(o) })
	}
}

func (c *Controller) index(r *apis.Resource, obj metav1.Object) {
	for _, ref := range obj.GetOwnerReferences() {
		deps := c.dependents[ref.UID]
		if deps == nil {
			deps = map[dependent]struct{}{}
			c.dependents[ref.UID] = deps
		}
		deps[dependent{r, obj.GetNamespace(), obj.GetName(), obj.GetUID()}] = struct{}{}
	}
}

func (c *Controller) unindex(r *apis.Resource, obj metav1.Object) {
	for _, ref := range obj.GetOwnerReferences() {
		deps := c.dependents[ref.UID]
		delete(deps, dependent{r, obj.GetNamespace(), obj.GetName(), obj.GetUID()})
		if len(deps) == 0 {
			delete(c.dependents, ref.UID)
		}
	}
}

// dependentsOf returns a snapshot of an owner's dependents.
func (c *Controller) dependentsOf(uid types.UID) []dependent {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]dependent, 0, len(c.dependents[uid]))
	for d := range c.dependents[uid] {
		out = append(out, d)
	}
	return out
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-c.queue:
			again, err := c.process(ctx, o)
			if err != nil && ctx.Err() == nil {
				c.log.Warn("garbage collection", "resource", o.r.String(), "name", o.obj.GetName(), "err", err)
				again = true
			}
			if again {
				time.AfterFunc(c.retry, func() { c.enqueue(o) })
			}
		}
	}
}

// process handles one owner; again asks for a later retry.
func (c *Controller) process(ctx context.Context, o owner) (again bool, err error) {
	store, ok := c.stores.Store(o.r)
	if !ok {
		return false, nil
	}
	cur, err := store.Get(ctx, o.obj.GetNamespace(), o.obj.GetName(), "")
	if apierrors.IsNotFound(err) {
		_, err := c.deleteDependents(ctx, o.obj.GetUID(), metav1.DeletePropagationBackground)
		return false, err
	}
	if err != nil {
		return false, err
	}
	live, _ := meta.Accessor(cur)
	if live.GetUID() != o.obj.GetUID() {
		// A new object took the name: the old owner is gone.
		_, err := c.deleteDependents(ctx, o.obj.GetUID(), metav1.DeletePropagationBackground)
		return false, err
	}
	if live.GetDeletionTimestamp() == nil {
		return false, nil
	}
	switch {
	case has(live.GetFinalizers(), metav1.FinalizerOrphanDependents):
		if err := c.orphan(ctx, live.GetUID()); err != nil {
			return false, err
		}
		return false, c.dropFinalizer(ctx, store, live, metav1.FinalizerOrphanDependents)
	case has(live.GetFinalizers(), metav1.FinalizerDeleteDependents):
		remaining, err := c.deleteDependents(ctx, live.GetUID(), metav1.DeletePropagationForeground)
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

// deleteDependents deletes every dependent of uid with policy and returns
// how many still block the owner: in the foreground, those whose
// reference has blockOwnerDeletion and that are not gone yet.
func (c *Controller) deleteDependents(ctx context.Context, uid types.UID, policy metav1.DeletionPropagation) (int, error) {
	remaining := 0
	for _, d := range c.dependentsOf(uid) {
		st, ok := c.stores.Store(d.r)
		if !ok {
			continue
		}
		blocking := false
		if policy == metav1.DeletePropagationForeground {
			cur, err := st.Get(ctx, d.namespace, d.name, "")
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return 0, err
			}
			acc, err := meta.Accessor(cur)
			if err != nil || acc.GetUID() != d.uid {
				continue
			}
			blocking = blocks(acc, uid)
			if blocking && c.dependsOnDeleting(ctx, d.uid) {
				// A dependent whose own dependents wait for their
				// dependents may close a circle (A owns B owns C owns
				// A): as upstream does, it stops blocking its owner.
				if err := c.unblock(ctx, st, d, uid); err != nil {
					return 0, err
				}
				blocking = false
			}
			if acc.GetDeletionTimestamp() != nil {
				if blocking {
					remaining++
				}
				continue
			}
		}
		depUID := d.uid
		res, err := st.Delete(ctx, d.namespace, d.name, &metav1.DeleteOptions{
			PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &depUID},
		}, false)
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if !res.Immediate && blocking {
			remaining++
		}
	}
	return remaining, nil
}

// blocks reports whether obj's reference to owner has blockOwnerDeletion.
func blocks(obj metav1.Object, owner types.UID) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == owner && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
			return true
		}
	}
	return false
}

// dependsOnDeleting reports whether any dependent of uid is itself being
// deleted in the foreground (waiting for its own dependents).
func (c *Controller) dependsOnDeleting(ctx context.Context, uid types.UID) bool {
	for _, d := range c.dependentsOf(uid) {
		st, ok := c.stores.Store(d.r)
		if !ok {
			continue
		}
		cur, err := st.Get(ctx, d.namespace, d.name, "")
		if err != nil {
			continue
		}
		if acc, err := meta.Accessor(cur); err == nil && acc.GetUID() == d.uid &&
			acc.GetDeletionTimestamp() != nil && has(acc.GetFinalizers(), metav1.FinalizerDeleteDependents) {
			return true
		}
	}
	return false
}

// unblock clears blockOwnerDeletion on d's references to owner.
func (c *Controller) unblock(ctx context.Context, st *registry.Store, d dependent, owner types.UID) error {
	_, err := st.Update(ctx, d.namespace, d.name, func(cur runtime.Object) (runtime.Object, error) {
		acc, err := meta.Accessor(cur)
		if err != nil {
			return nil, err
		}
		refs := acc.GetOwnerReferences()
		no := false
		for i := range refs {
			if refs[i].UID == owner {
				refs[i].BlockOwnerDeletion = &no
			}
		}
		acc.SetOwnerReferences(refs)
		return cur, nil
	}, registry.WriteOptions{FieldManager: "kastle-garbage-collector"})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// orphan removes uid's references from its dependents.
func (c *Controller) orphan(ctx context.Context, uid types.UID) error {
	for _, d := range c.dependentsOf(uid) {
		st, ok := c.stores.Store(d.r)
		if !ok {
			continue
		}
		_, err := st.Update(ctx, d.namespace, d.name, func(cur runtime.Object) (runtime.Object, error) {
			acc, err := meta.Accessor(cur)
			if err != nil {
				return nil, err
			}
			var keep []metav1.OwnerReference
			for _, ref := range acc.GetOwnerReferences() {
				if ref.UID != uid {
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

func (c *Controller) dropFinalizer(ctx context.Context, st *registry.Store, o metav1.Object, finalizer string) error {
	_, err := st.Update(ctx, o.GetNamespace(), o.GetName(), func(cur runtime.Object) (runtime.Object, error) {
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

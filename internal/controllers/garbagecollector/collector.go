package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/kastle-dev/kastle/internal/controllers/queue"
)

// Defaults of Config.
const (
	// DefaultResyncPeriod is how often discovery is read again for new or
	// removed resources (CRD changes also trigger it at once).
	DefaultResyncPeriod = 30 * time.Second
	// DefaultSyncTimeout bounds the wait for the first listing of every
	// resource before the collector starts deleting.
	DefaultSyncTimeout = time.Minute
)

// Component names the collector in the Events it writes.
const Component = "garbage-collector-controller"

// ReasonOwnerRefInvalidNamespace is the reason of the warning Event about
// an owner reference that can never resolve, as upstream names it.
const ReasonOwnerRefInvalidNamespace = "OwnerRefInvalidNamespace"

var crdResource = schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}

// Collector is the garbage collector. Create it with New.
type Collector struct {
	meta     metadata.Interface
	client   kubernetes.Interface
	disc     discovery.CachedDiscoveryInterface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	graph    *graph
	monitors *monitors
	examine  *queue.Queue
	orphans  *queue.Queue
	log      *slog.Logger
	kick     chan struct{}

	// ResyncPeriod and SyncTimeout: see the defaults.
	ResyncPeriod, SyncTimeout time.Duration

	mu sync.Mutex
	// absent holds owner UIDs a live read found gone: a UID is never
	// reused, so they stay gone.
	absent map[types.UID]struct{}
	// warned holds dependents already reported as invalid.
	warned map[types.UID]struct{}
}

// maxAbsent bounds the absent-owner memory.
const maxAbsent = 4096

// New returns a collector reading discovery through client and watching
// and writing metadata through meta.
func New(client kubernetes.Interface, meta metadata.Interface, log *slog.Logger) *Collector {
	disc := memory.NewMemCacheClient(client.Discovery())
	c := &Collector{
		meta: meta, client: client, disc: disc, mapper: restmapper.NewDeferredDiscoveryRESTMapper(disc),
		graph: newGraph(), log: log, kick: make(chan struct{}, 1),
		ResyncPeriod: DefaultResyncPeriod, SyncTimeout: DefaultSyncTimeout,
		absent: map[types.UID]struct{}{}, warned: map[types.UID]struct{}{},
	}
	c.examine = queue.New("garbagecollector", c.attempt, log)
	c.orphans = queue.New("garbagecollector-orphan", c.orphan, log)
	c.monitors = &monitors{meta: meta, handler: c.handler, running: map[schema.GroupVersionResource]*monitor{}}
	return c
}

// Run watches and collects until ctx ends.
func (c *Collector) Run(ctx context.Context, workers int) {
	// Every goroutine started here ends before Run returns, so a stopped
	// manager leaves nothing behind (a discovery read in flight included).
	var wg sync.WaitGroup
	defer func() { wg.Wait(); c.monitors.stopAll() }()
	c.resync(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); c.resyncLoop(ctx) }()
	// Deleting before every resource is listed could take a present owner
	// for a missing one only to find it with a live read: wait, but not
	// forever for a resource that cannot be listed.
	sctx, cancel := context.WithTimeout(ctx, c.SyncTimeout)
	if !cache.WaitForCacheSync(sctx.Done(), c.monitors.synced) && ctx.Err() == nil {
		c.log.Warn("not every resource could be listed: collecting anyway")
	}
	cancel()
	wg.Add(1)
	go func() { defer wg.Done(); c.orphans.Run(ctx, workers) }()
	c.examine.Run(ctx, workers)
}

func (c *Collector) resyncLoop(ctx context.Context) {
	t := time.NewTicker(c.ResyncPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
		c.resync(ctx)
	}
}

// resync reads discovery again and follows what it lists.
func (c *Collector) resync(ctx context.Context) {
	c.disc.Invalidate()
	want, err := deletableResources(ctx, c.disc)
	if err != nil {
		c.log.Warn("discovery of deletable resources", "err", err)
		if want == nil {
			return
		}
	}
	if c.monitors.sync(ctx, want, err != nil) {
		c.mapper.Reset()
	}
}

// kickResync asks for a discovery pass now and one shortly after: a new
// CRD is served a moment after it is stored.
func (c *Collector) kickResync() {
	send := func() {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	send()
	time.AfterFunc(2*time.Second, send)
}

// handler feeds the graph from the informer of gvr.
func (c *Collector) handler(gvr schema.GroupVersionResource) cache.ResourceEventHandler {
	isCRD := gvr.GroupResource() == crdResource
	observe := func(obj interface{}) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			c.act(c.graph.observe(nodeOf(gvr, m)))
		}
		if isCRD {
			c.kickResync()
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj interface{}) { observe(obj) },
		DeleteFunc: func(obj interface{}) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
				c.act(c.graph.forget(m.UID))
			}
			if isCRD {
				c.kickResync()
			}
		},
	}
}

func (c *Collector) act(a actions) {
	for _, uid := range a.examine {
		c.examine.Add(string(uid))
	}
	for _, uid := range a.orphan {
		c.orphans.Add(string(uid))
	}
}

// ownerState is what a dependent's reference finds.
type ownerState int

const (
	// solid: the owner exists and is not waiting for its dependents.
	solid ownerState = iota
	// dangling: the owner does not exist (or is another object now).
	dangling
	// waiting: the owner is being deleted in the foreground.
	waiting
	// unresolvable: the reference can never resolve (a cluster-scoped
	// dependent naming a namespaced owner); it keeps the dependent.
	unresolvable
)

// attempt examines one object (key: its UID): it is deleted when every
// owner is gone, or deleted in the foreground for an owner that waits;
// references to gone owners are dropped while another owner is solid;
// and its own foreground deletion ends once nothing blocks it.
func (c *Collector) attempt(ctx context.Context, key string) error {
	uid := types.UID(key)
	n, ok := c.graph.get(uid)
	if !ok || (!n.deleting && c.graph.settled(&n)) {
		return nil
	}
	live, err := c.live(ctx, n)
	if live == nil {
		return err
	}
	if live.DeletionTimestamp != nil {
		if !slices.Contains(live.Finalizers, metav1.FinalizerDeleteDependents) {
			return nil
		}
		return c.finishForeground(ctx, n, live)
	}
	if len(live.OwnerReferences) == 0 {
		return nil
	}
	var nSolid int
	drop := map[types.UID]bool{}
	anyWaiting := false
	for _, ref := range live.OwnerReferences {
		st, err := c.ownerState(ctx, n, ref)
		if err != nil {
			return err
		}
		switch st {
		case solid, unresolvable:
			nSolid++
		case dangling:
			drop[ref.UID] = true
		case waiting:
			drop[ref.UID], anyWaiting = true, true
		}
	}
	switch {
	case nSolid > 0:
		if len(drop) == 0 {
			return nil
		}
		// Another owner keeps it: it only lets go of the others.
		refs := slices.DeleteFunc(slices.Clone(live.OwnerReferences), func(r metav1.OwnerReference) bool { return drop[r.UID] })
		return c.patch(ctx, n, live, "/metadata/ownerReferences", refs)
	case anyWaiting && len(c.graph.dependentsOf(uid)) > 0:
		for _, d := range c.graph.dependentsOf(uid) {
			if d.foreground {
				// One of its dependents waits for its own dependents: a
				// circle may close here, so it stops blocking its owners.
				if err := c.unblock(ctx, n, live); err != nil {
					return err
				}
				break
			}
		}
		return c.delete(ctx, n, metav1.DeletePropagationForeground)
	}
	policy := metav1.DeletePropagationBackground
	switch {
	case slices.Contains(live.Finalizers, metav1.FinalizerOrphanDependents):
		policy = metav1.DeletePropagationOrphan
	case slices.Contains(live.Finalizers, metav1.FinalizerDeleteDependents):
		policy = metav1.DeletePropagationForeground
	}
	return c.delete(ctx, n, policy)
}

// ownerState resolves one owner reference of n: from the graph when it
// knows the owner, else by a live read by name compared by UID.
func (c *Collector) ownerState(ctx context.Context, n node, ref metav1.OwnerReference) (ownerState, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return 0, fmt.Errorf("owner reference %s/%s: %w", ref.Kind, ref.Name, err)
	}
	mapping, err := c.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, gv.Version)
	if err != nil {
		// Maybe a kind discovery has not caught up with: look again
		// and retry later.
		c.mapper.Reset()
		return 0, fmt.Errorf("owner reference %s %s/%s: %w", ref.APIVersion, ref.Kind, ref.Name, err)
	}
	namespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
	if namespaced && n.namespace == "" {
		c.warnInvalid(ctx, n, ref, "a cluster-scoped object cannot have a namespaced owner")
		return unresolvable, nil
	}
	ns := ""
	if namespaced {
		ns = n.namespace
	}
	if o, ok := c.graph.get(ref.UID); ok {
		if o.namespace != ns {
			c.warnInvalid(ctx, n, ref, fmt.Sprintf("the owner is in namespace %q, not %q", o.namespace, ns))
			return dangling, nil
		}
		if o.name == ref.Name {
			if o.foreground {
				return waiting, nil
			}
			return solid, nil
		}
	}
	if c.knownAbsent(ref.UID) {
		return dangling, nil
	}
	owner, err := c.meta.Resource(mapping.Resource).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		c.markAbsent(ref.UID)
		return dangling, nil
	case err != nil:
		return 0, err
	case owner.UID != ref.UID:
		c.markAbsent(ref.UID)
		return dangling, nil
	case owner.DeletionTimestamp != nil && slices.Contains(owner.Finalizers, metav1.FinalizerDeleteDependents):
		return waiting, nil
	}
	return solid, nil
}

// finishForeground drops the foregroundDeletion finalizer once no
// dependent blocks n, and otherwise makes sure those that do are deleted.
func (c *Collector) finishForeground(ctx context.Context, n node, live *metav1.PartialObjectMetadata) error {
	blocking := c.graph.blocking(n.uid)
	if len(blocking) == 0 {
		fin := slices.DeleteFunc(slices.Clone(live.Finalizers), func(f string) bool { return f == metav1.FinalizerDeleteDependents })
		return c.patch(ctx, n, live, "/metadata/finalizers", fin)
	}
	for _, d := range blocking {
		if !d.foreground {
			c.examine.Add(string(d.uid))
		}
	}
	return nil
}

// orphan (key: an owner's UID) removes the owner's references from its
// dependents, then its orphan finalizer.
func (c *Collector) orphan(ctx context.Context, key string) error {
	uid := types.UID(key)
	n, ok := c.graph.get(uid)
	if !ok {
		return nil
	}
	live, err := c.live(ctx, n)
	if live == nil || live.DeletionTimestamp == nil || !slices.Contains(live.Finalizers, metav1.FinalizerOrphanDependents) {
		return err
	}
	for _, d := range c.graph.dependentsOf(uid) {
		dl, err := c.live(ctx, d)
		if err != nil {
			return err
		}
		if dl == nil {
			continue
		}
		refs := slices.DeleteFunc(slices.Clone(dl.OwnerReferences), func(r metav1.OwnerReference) bool { return r.UID == uid })
		if len(refs) == len(dl.OwnerReferences) {
			continue
		}
		if err := c.patch(ctx, d, dl, "/metadata/ownerReferences", refs); err != nil {
			return err
		}
	}
	fin := slices.DeleteFunc(slices.Clone(live.Finalizers), func(f string) bool { return f == metav1.FinalizerOrphanDependents })
	return c.patch(ctx, n, live, "/metadata/finalizers", fin)
}

// live reads n's current metadata: nil (and no error) when n is gone,
// or its name now belongs to another object.
func (c *Collector) live(ctx context.Context, n node) (*metav1.PartialObjectMetadata, error) {
	m, err := c.meta.Resource(n.gvr).Namespace(n.namespace).Get(ctx, n.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if m.UID != n.uid {
		return nil, nil
	}
	return m, nil
}

// unblock clears blockOwnerDeletion on every owner reference of n.
func (c *Collector) unblock(ctx context.Context, n node, live *metav1.PartialObjectMetadata) error {
	refs := slices.Clone(live.OwnerReferences)
	changed := false
	no := false
	for i := range refs {
		if refs[i].BlockOwnerDeletion != nil && *refs[i].BlockOwnerDeletion {
			refs[i].BlockOwnerDeletion, changed = &no, true
		}
	}
	if !changed {
		return nil
	}
	return c.patch(ctx, n, live, "/metadata/ownerReferences", refs)
}

// patch replaces one metadata field of n, on the condition that the
// object is still the version live was read at: a concurrent change
// fails it, and the retry starts from a fresh read.
func (c *Collector) patch(ctx context.Context, n node, live *metav1.PartialObjectMetadata, path string, value interface{}) error {
	ops := []map[string]interface{}{
		{"op": "test", "path": "/metadata/uid", "value": live.UID},
		{"op": "test", "path": "/metadata/resourceVersion", "value": live.ResourceVersion},
		{"op": "replace", "path": path, "value": value},
	}
	body, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	_, err = c.meta.Resource(n.gvr).Namespace(n.namespace).Patch(ctx, n.name, types.JSONPatchType, body,
		metav1.PatchOptions{FieldManager: Component})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// delete deletes n with policy, only if it is still the same object.
func (c *Collector) delete(ctx context.Context, n node, policy metav1.DeletionPropagation) error {
	uid := n.uid
	err := c.meta.Resource(n.gvr).Namespace(n.namespace).Delete(ctx, n.name, metav1.DeleteOptions{
		PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err == nil {
		c.log.Debug("deleted dependent", "resource", n.gvr.String(), "namespace", n.namespace, "name", n.name, "propagation", policy)
	}
	return err
}

func (c *Collector) knownAbsent(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.absent[uid]
	return ok
}

func (c *Collector) markAbsent(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.absent) >= maxAbsent {
		clear(c.absent)
	}
	c.absent[uid] = struct{}{}
}

// warnInvalid reports an owner reference that can never resolve with a
// warning Event on the dependent, once per dependent.
func (c *Collector) warnInvalid(ctx context.Context, n node, ref metav1.OwnerReference, why string) {
	c.mu.Lock()
	_, done := c.warned[n.uid]
	c.warned[n.uid] = struct{}{}
	if len(c.warned) > maxAbsent {
		clear(c.warned)
	}
	c.mu.Unlock()
	if done {
		return
	}
	gvk, err := c.mapper.KindFor(n.gvr)
	if err != nil {
		gvk = n.gvr.GroupVersion().WithKind("")
	}
	ns := n.namespace
	if ns == "" {
		ns = metav1.NamespaceDefault // where cluster-scoped objects' events go
	}
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", n.name, now.UnixNano()), Namespace: ns},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: n.namespace, Name: n.name, UID: n.uid,
		},
		Reason:  ReasonOwnerRefInvalidNamespace,
		Message: fmt.Sprintf("ownerRef %s %s/%s (uid %s) cannot resolve: %s", ref.APIVersion, ref.Kind, ref.Name, ref.UID, why),
		Type:    corev1.EventTypeWarning, Source: corev1.EventSource{Component: Component},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	if _, err := c.client.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil && !errors.Is(err, context.Canceled) {
		c.log.Warn("recording an invalid owner reference", "namespace", n.namespace, "name", n.name, "err", err)
	}
}

package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"

	"github.com/kastle-dev/kastle/internal/controllers/queue"
)

// Requeue delays while content waits on its finalizers: the first look
// again comes soon, later ones back off to MaxRecheck.
const (
	FirstRecheck = time.Second
	MaxRecheck   = 8 * time.Second
)

// Controller finalizes terminating namespaces. Create it with New.
type Controller struct {
	client kubernetes.Interface
	meta   metadata.Interface
	disc   discovery.DiscoveryInterface
	synced cache.InformerSynced
	q      *queue.Queue
	log    *slog.Logger

	mu       sync.Mutex
	rechecks map[string]int
}

// New wires the controller to the namespace informer; content is found
// by discovery (custom resources included) and deleted through meta.
func New(client kubernetes.Interface, meta metadata.Interface, namespaces coreinformers.NamespaceInformer, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, meta: meta, disc: client.Discovery(), log: log,
		synced: namespaces.Informer().HasSynced, rechecks: map[string]int{}}
	c.q = queue.New("namespace", c.sync, log)
	add := func(obj interface{}) {
		if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
			c.q.Add(ns.Name)
		}
	}
	_, err := namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: add, UpdateFunc: func(_, obj interface{}) { add(obj) },
	})
	return c, err
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	c.q.Run(ctx, workers, c.synced)
}

// sync deletes a terminating namespace's content, reports progress in its
// conditions, and once nothing is left removes the "kubernetes"
// finalizer so the namespace itself goes.
func (c *Controller) sync(ctx context.Context, name string) error {
	// A live read: acting on a stale copy could finalize a namespace
	// whose finalizers changed.
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		c.done(name)
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		c.done(name)
		return nil
	}
	res := c.deleteContent(ctx, name)
	if ns, err = c.updateConditions(ctx, ns, res.conditions()); err != nil {
		return err
	}
	if len(res.errs) > 0 {
		return errors.Join(res.errs...)
	}
	if len(res.remaining) > 0 {
		c.q.AddAfter(name, c.recheckDelay(name))
		return nil
	}
	ns.Spec.Finalizers = slices.DeleteFunc(ns.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == corev1.FinalizerKubernetes })
	_, err = c.client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{FieldManager: "kastle-namespace-controller"})
	if apierrors.IsNotFound(err) {
		err = nil
	}
	if err == nil {
		c.done(name)
	}
	return err
}

func (c *Controller) recheckDelay(name string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.rechecks[name]
	c.rechecks[name] = n + 1
	d := FirstRecheck << min(n, 8)
	return min(d, MaxRecheck)
}

func (c *Controller) done(name string) {
	c.mu.Lock()
	delete(c.rechecks, name)
	c.mu.Unlock()
}

// result is what one pass over a namespace's content found.
type result struct {
	// discovery and parsing name the group versions discovery could not
	// list or parse.
	discovery, parsing []string
	// content holds deletion and listing failures; errs every failure.
	content, errs []error
	// remaining counts objects left per resource; finalizers counts the
	// finalizers those objects wait on.
	remaining, finalizers map[string]int
}

func (r *result) fail(err error) {
	r.content = append(r.content, err)
	r.errs = append(r.errs, err)
}

// deleteContent deletes every object in namespace ns of every namespaced
// resource that can be deleted, then counts what is left.
func (c *Controller) deleteContent(ctx context.Context, ns string) *result {
	r := &result{remaining: map[string]int{}, finalizers: map[string]int{}}
	lists, err := c.disc.ServerPreferredNamespacedResources()
	var failed *discovery.ErrGroupDiscoveryFailed
	switch {
	case errors.As(err, &failed):
		for gv := range failed.Groups {
			r.discovery = append(r.discovery, gv.String())
		}
	case err != nil && len(lists) == 0:
		r.discovery = append(r.discovery, err.Error())
		r.errs = append(r.errs, err)
		return r
	}
	if len(r.discovery) > 0 {
		r.errs = append(r.errs, fmt.Errorf("discovery failed for %s", strings.Join(r.discovery, ", ")))
	}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			r.parsing = append(r.parsing, l.GroupVersion)
			r.errs = append(r.errs, err)
			continue
		}
		for _, ar := range l.APIResources {
			if strings.Contains(ar.Name, "/") || !slices.Contains(ar.Verbs, "delete") {
				continue
			}
			c.deleteResource(ctx, ns, gv.WithResource(ar.Name), ar.Verbs, r)
		}
	}
	return r
}

// deleteResource deletes the objects of one resource in ns (one
// deletecollection where supported, else one by one), then counts those
// still there.
func (c *Controller) deleteResource(ctx context.Context, ns string, gvr schema.GroupVersionResource, verbs metav1.Verbs, r *result) {
	res := c.meta.Resource(gvr).Namespace(ns)
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	canList := slices.Contains(verbs, "list")
	if slices.Contains(verbs, "deletecollection") {
		err := res.DeleteCollection(ctx, opts, metav1.ListOptions{})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
			r.fail(fmt.Errorf("deleting %s: %w", gvr, err))
			return
		}
	} else if canList {
		l, err := res.List(ctx, metav1.ListOptions{})
		if err != nil {
			r.fail(fmt.Errorf("listing %s: %w", gvr, err))
			return
		}
		for i := range l.Items {
			it := &l.Items[i]
			if it.DeletionTimestamp != nil {
				continue
			}
			uid := it.UID
			opts.Preconditions = &metav1.Preconditions{UID: &uid}
			if err := res.Delete(ctx, it.Name, opts); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				r.fail(fmt.Errorf("deleting %s %s: %w", gvr, it.Name, err))
			}
		}
	}
	if !canList {
		return
	}
	left, err := res.List(ctx, metav1.ListOptions{})
	if err != nil {
		if !apierrors.IsNotFound(err) {
			r.fail(fmt.Errorf("listing %s: %w", gvr, err))
		}
		return
	}
	if len(left.Items) == 0 {
		return
	}
	r.remaining[gvr.GroupResource().String()] += len(left.Items)
	for _, it := range left.Items {
		for _, f := range it.Finalizers {
			r.finalizers[f]++
		}
	}
}

// Upstream's condition reasons: the ok reason when the condition is
// False, the failure reason when it is True.
var conditionReasons = []struct {
	typ          corev1.NamespaceConditionType
	ok, failed   string
	okMessage    string
	failedPrefix string
}{
	{corev1.NamespaceDeletionDiscoveryFailure, "ResourcesDiscovered", "DiscoveryFailed",
		"All resources successfully discovered", "Discovery failed for some groups"},
	{corev1.NamespaceDeletionGVParsingFailure, "ParsedGroupVersions", "GroupVersionParsingFailed",
		"All legacy kube types successfully parsed", "Failed to parse some group versions"},
	{corev1.NamespaceDeletionContentFailure, "ContentDeleted", "ContentDeletionFailed",
		"All content successfully deleted, may be waiting on finalization", "Failed to delete all resource types"},
	{corev1.NamespaceContentRemaining, "ContentRemoved", "SomeResourcesRemain",
		"All content successfully removed", "Some resources are remaining"},
	{corev1.NamespaceFinalizersRemaining, "ContentHasNoFinalizers", "SomeFinalizersRemain",
		"All content-preserving finalizers finished", "Some content in the namespace has finalizers remaining"},
}

// conditions turns a pass's result into the five deletion conditions.
func (r *result) conditions() []corev1.NamespaceCondition {
	failures := map[corev1.NamespaceConditionType]string{}
	if len(r.discovery) > 0 {
		failures[corev1.NamespaceDeletionDiscoveryFailure] = fmt.Sprintf("%d failing: %s", len(r.discovery), joinSorted(r.discovery))
	}
	if len(r.parsing) > 0 {
		failures[corev1.NamespaceDeletionGVParsingFailure] = joinSorted(r.parsing)
	}
	if len(r.content) > 0 {
		var msgs []string
		for _, e := range r.content {
			msgs = append(msgs, e.Error())
		}
		failures[corev1.NamespaceDeletionContentFailure] = fmt.Sprintf("%d remaining: %s", len(msgs), joinSorted(msgs))
	}
	if len(r.remaining) > 0 {
		var parts []string
		for res, n := range r.remaining {
			parts = append(parts, fmt.Sprintf("%s has %d resource instances", res, n))
		}
		failures[corev1.NamespaceContentRemaining] = joinSorted(parts)
	}
	if len(r.finalizers) > 0 {
		var parts []string
		for f, n := range r.finalizers {
			parts = append(parts, fmt.Sprintf("%s in %d resource instances", f, n))
		}
		failures[corev1.NamespaceFinalizersRemaining] = joinSorted(parts)
	}
	out := make([]corev1.NamespaceCondition, 0, len(conditionReasons))
	for _, cr := range conditionReasons {
		cond := corev1.NamespaceCondition{Type: cr.typ, Status: corev1.ConditionFalse, Reason: cr.ok, Message: cr.okMessage}
		if msg, ok := failures[cr.typ]; ok {
			cond.Status, cond.Reason, cond.Message = corev1.ConditionTrue, cr.failed, cr.failedPrefix+": "+msg
		}
		out = append(out, cond)
	}
	return out
}

func joinSorted(s []string) string {
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// updateConditions writes the deletion conditions into the namespace's
// status when they changed (a changed condition gets a new transition
// time) and returns the namespace as stored.
func (c *Controller) updateConditions(ctx context.Context, ns *corev1.Namespace, want []corev1.NamespaceCondition) (*corev1.Namespace, error) {
	out := ns.DeepCopy()
	changed := out.Status.Phase != corev1.NamespaceTerminating
	out.Status.Phase = corev1.NamespaceTerminating
	now := metav1.Now()
	for _, w := range want {
		i := slices.IndexFunc(out.Status.Conditions, func(c corev1.NamespaceCondition) bool { return c.Type == w.Type })
		if i < 0 {
			w.LastTransitionTime = now
			out.Status.Conditions = append(out.Status.Conditions, w)
			changed = true
			continue
		}
		cur := &out.Status.Conditions[i]
		if cur.Status == w.Status && cur.Reason == w.Reason && cur.Message == w.Message {
			continue
		}
		if cur.Status != w.Status {
			cur.LastTransitionTime = now
		}
		cur.Status, cur.Reason, cur.Message = w.Status, w.Reason, w.Message
		changed = true
	}
	if !changed {
		return ns, nil
	}
	stored, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, out, metav1.UpdateOptions{FieldManager: "kastle-namespace-controller"})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

package resourcequota

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/kastle-dev/kastle/internal/controllers/queue"
	"github.com/kastle-dev/kastle/internal/quota"
)

// Resync is how often every quota is recomputed, for the counted resources
// the controller does not watch.
const Resync = 15 * time.Second

// Controller recomputes ResourceQuota status. Create it with New.
type Controller struct {
	client   kubernetes.Interface
	dyn      dynamic.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	quotas   corelisters.ResourceQuotaLister
	pods     corelisters.PodLister
	services corelisters.ServiceLister
	claims   corelisters.PersistentVolumeClaimLister
	synced   []cache.InformerSynced
	q        *queue.Queue
	log      *slog.Logger
}

// New wires the controller to its informers.
func New(client kubernetes.Interface, dyn dynamic.Interface, quotas coreinformers.ResourceQuotaInformer, pods coreinformers.PodInformer,
	services coreinformers.ServiceInformer, claims coreinformers.PersistentVolumeClaimInformer, log *slog.Logger) (*Controller, error) {
	c := &Controller{
		client: client, dyn: dyn,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery())),
		quotas: quotas.Lister(), pods: pods.Lister(), services: services.Lister(), claims: claims.Lister(), log: log,
		synced: []cache.InformerSynced{quotas.Informer().HasSynced, pods.Informer().HasSynced, services.Informer().HasSynced, claims.Informer().HasSynced},
	}
	c.q = queue.New("resourcequota", c.sync, log)
	if err := c.q.Follow(quotas.Informer()); err != nil {
		return nil, err
	}
	// A change of a charged object requeues its namespace's quotas.
	byNamespace := func(obj interface{}) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if m, ok := obj.(metav1.Object); ok {
			c.enqueueNamespace(m.GetNamespace())
		}
	}
	h := cache.ResourceEventHandlerFuncs{AddFunc: byNamespace, UpdateFunc: func(_, o interface{}) { byNamespace(o) }, DeleteFunc: byNamespace}
	for _, inf := range []cache.SharedIndexInformer{pods.Informer(), services.Informer(), claims.Informer()} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Controller) enqueueNamespace(ns string) {
	qs, err := c.quotas.ResourceQuotas(ns).List(labels.Everything())
	if err != nil {
		return
	}
	for _, q := range qs {
		c.q.Add(q.Namespace + "/" + q.Name)
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	resynced := make(chan struct{})
	defer func() { <-resynced }()
	go func() {
		defer close(resynced)
		t := time.NewTicker(Resync)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				qs, err := c.quotas.List(labels.Everything())
				if err != nil {
					continue
				}
				for _, q := range qs {
					c.q.Add(q.Namespace + "/" + q.Name)
				}
			}
		}
	}()
	c.q.Run(ctx, workers, c.synced...)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	q, err := c.quotas.ResourceQuotas(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	used, err := c.usage(ctx, q)
	if err != nil {
		return err
	}
	if apiequality.Semantic.DeepEqual(q.Status.Hard, q.Spec.Hard) && apiequality.Semantic.DeepEqual(q.Status.Used, used) {
		return nil
	}
	out := q.DeepCopy()
	out.Status.Hard, out.Status.Used = q.Spec.Hard, used
	_, err = c.client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, out, metav1.UpdateOptions{FieldManager: "resourcequota-controller"})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		c.q.Add(key)
		return nil
	}
	return err
}

// usage sums what the namespace's objects use of q's hard names.
func (c *Controller) usage(ctx context.Context, q *corev1.ResourceQuota) (corev1.ResourceList, error) {
	used := quota.Zero(q.Spec.Hard)
	needed := map[schema.GroupResource]bool{}
	for name := range q.Spec.Hard {
		switch gr, ok := quota.ParseCountName(name); {
		case ok:
			needed[gr] = true
		default:
			if gr, ok := quota.LegacyCountResource(name); ok {
				needed[gr] = true
			} else {
				needed[chargedBy(name)] = true
			}
		}
	}
	add := func(gr schema.GroupResource, obj runtime.Object) {
		if quota.Matches(q, obj) {
			used = quota.Add(used, quota.Mask(quota.Usage(gr, obj), q.Spec.Hard))
		}
	}
	for gr := range needed {
		switch gr {
		case schema.GroupResource{}:
		case schema.GroupResource{Resource: "pods"}:
			pods, err := c.pods.Pods(q.Namespace).List(labels.Everything())
			if err != nil {
				return nil, err
			}
			for _, p := range pods {
				add(gr, p)
			}
		case schema.GroupResource{Resource: "services"}:
			svcs, err := c.services.Services(q.Namespace).List(labels.Everything())
			if err != nil {
				return nil, err
			}
			for _, s := range svcs {
				add(gr, s)
			}
		case schema.GroupResource{Resource: "persistentvolumeclaims"}:
			claims, err := c.claims.PersistentVolumeClaims(q.Namespace).List(labels.Everything())
			if err != nil {
				return nil, err
			}
			for _, cl := range claims {
				add(gr, cl)
			}
		default:
			if len(q.Spec.Scopes) > 0 || q.Spec.ScopeSelector != nil {
				continue // scopes select pods only
			}
			n, err := c.count(ctx, gr, q.Namespace)
			if err != nil {
				c.log.Warn("counting for a quota", "quota", q.Namespace+"/"+q.Name, "resource", gr.String(), "err", err)
				continue
			}
			one := corev1.ResourceList{quota.CountName(gr): *resource.NewQuantity(n, resource.DecimalSI)}
			if legacy, ok := legacyName(gr); ok {
				one[legacy] = *resource.NewQuantity(n, resource.DecimalSI)
			}
			used = quota.Add(used, quota.Mask(one, q.Spec.Hard))
		}
	}
	return used, nil
}

// chargedBy names the resource whose objects use a compute or storage
// name (pods for cpu, claims for storage, services for node ports).
func chargedBy(name corev1.ResourceName) schema.GroupResource {
	switch s := string(name); {
	case name == corev1.ResourceServicesNodePorts || name == corev1.ResourceServicesLoadBalancers:
		return schema.GroupResource{Resource: "services"}
	case name == corev1.ResourceRequestsStorage || strings.Contains(s, ".storageclass.storage.k8s.io/"):
		return schema.GroupResource{Resource: "persistentvolumeclaims"}
	}
	return schema.GroupResource{Resource: "pods"}
}

func legacyName(gr schema.GroupResource) (corev1.ResourceName, bool) {
	for _, n := range []corev1.ResourceName{corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourceReplicationControllers, corev1.ResourceQuotas} {
		if g, ok := quota.LegacyCountResource(n); ok && g == gr {
			return n, true
		}
	}
	return "", false
}

// count lists gr in ns (metadata only would do; the dynamic client is
// what resolves any group) and returns how many exist.
func (c *Controller) count(ctx context.Context, gr schema.GroupResource, ns string) (int64, error) {
	gvr, err := c.mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		c.mapper.Reset()
		if gvr, err = c.mapper.ResourceFor(gr.WithVersion("")); err != nil {
			return 0, fmt.Errorf("resolving %s: %w", gr, err)
		}
	}
	list, err := c.dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	return int64(len(list.Items)), nil
}

package storageprotection

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kastle-dev/kastle/internal/controllers/queue"
)

// The finalizers, as upstream names them.
const (
	PVCFinalizer = "kubernetes.io/pvc-protection"
	PVFinalizer  = "kubernetes.io/pv-protection"
)

// Controller releases claims and volumes being deleted. Create it with New.
type Controller struct {
	client  kubernetes.Interface
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	pods    corelisters.PodLister
	synced  []cache.InformerSynced
	q       *queue.Queue
	log     *slog.Logger
}

// New wires the controller to its informers. Queue keys are "pvc/NS/NAME"
// and "pv/NAME".
func New(client kubernetes.Interface, claims coreinformers.PersistentVolumeClaimInformer, volumes coreinformers.PersistentVolumeInformer,
	pods coreinformers.PodInformer, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, claims: claims.Lister(), volumes: volumes.Lister(), pods: pods.Lister(), log: log,
		synced: []cache.InformerSynced{claims.Informer().HasSynced, volumes.Informer().HasSynced, pods.Informer().HasSynced}}
	c.q = queue.New("storageprotection", c.sync, log)
	add := func(obj interface{}) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		switch o := obj.(type) {
		case *corev1.PersistentVolumeClaim:
			c.q.Add("pvc/" + o.Namespace + "/" + o.Name)
		case *corev1.PersistentVolume:
			c.q.Add("pv/" + o.Name)
		case *corev1.Pod:
			// A pod going away may release the claims it used.
			for _, v := range o.Spec.Volumes {
				if v.PersistentVolumeClaim != nil {
					c.q.Add("pvc/" + o.Namespace + "/" + v.PersistentVolumeClaim.ClaimName)
				}
			}
		}
	}
	h := cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o interface{}) { add(o) }, DeleteFunc: add}
	for _, inf := range []cache.SharedIndexInformer{claims.Informer(), volumes.Informer(), pods.Informer()} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.q.Run(ctx, workers, c.synced...) }

func (c *Controller) sync(ctx context.Context, key string) error {
	switch {
	case len(key) > 4 && key[:4] == "pvc/":
		ns, name, err := cache.SplitMetaNamespaceKey(key[4:])
		if err != nil {
			return nil
		}
		pvc, err := c.claims.PersistentVolumeClaims(ns).Get(name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if pvc.DeletionTimestamp == nil || !slices.Contains(pvc.Finalizers, PVCFinalizer) {
			return nil
		}
		inUse, err := c.claimInUse(pvc)
		if err != nil || inUse {
			return err
		}
		return c.dropFinalizer(ctx, pvc.Finalizers, PVCFinalizer, func(p []byte) error {
			_, err := c.client.CoreV1().PersistentVolumeClaims(ns).Patch(ctx, name, types.MergePatchType, p, metav1.PatchOptions{FieldManager: "pvc-protection-controller"})
			return err
		}, pvc.ResourceVersion)
	case len(key) > 3 && key[:3] == "pv/":
		pv, err := c.volumes.Get(key[3:])
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if pv.DeletionTimestamp == nil || !slices.Contains(pv.Finalizers, PVFinalizer) || pv.Status.Phase == corev1.VolumeBound {
			return nil
		}
		return c.dropFinalizer(ctx, pv.Finalizers, PVFinalizer, func(p []byte) error {
			_, err := c.client.CoreV1().PersistentVolumes().Patch(ctx, pv.Name, types.MergePatchType, p, metav1.PatchOptions{FieldManager: "pv-protection-controller"})
			return err
		}, pv.ResourceVersion)
	}
	return nil
}

// claimInUse reports whether a pod that has not finished mounts pvc.
func (c *Controller) claimInUse(pvc *corev1.PersistentVolumeClaim) (bool, error) {
	pods, err := c.pods.Pods(pvc.Namespace).List(labels.Everything())
	if err != nil {
		return false, err
	}
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name {
				return true, nil
			}
		}
	}
	return false, nil
}

func (c *Controller) dropFinalizer(ctx context.Context, finalizers []string, drop string, patch func([]byte) error, rv string) error {
	keep := []string{}
	for _, f := range finalizers {
		if f != drop {
			keep = append(keep, f)
		}
	}
	p, err := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{"finalizers": keep, "resourceVersion": rv}})
	if err != nil {
		return err
	}
	if err := patch(p); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	return nil
}

package admission

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/registry"
)

// Plugins that resolve a class named by (or defaulted into) an object:
// Priority, DefaultStorageClass, DefaultIngressClass, RuntimeClass and
// PersistentVolumeClaimResize.

// Annotations marking the default class, as upstream names them.
const (
	defaultStorageClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaDefaultStorageClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
	defaultIngressClassAnnotation     = "ingressclass.kubernetes.io/is-default-class"
	legacyIngressClassAnnotation      = "kubernetes.io/ingress.class"
)

// ClassStore reads cluster-scoped classes (a registry store).
type ClassStore interface {
	Getter
	Lister
}

// Priority resolves a pod's priority from its PriorityClass (or the
// cluster's global default) and keeps a single global default class.
type Priority struct {
	Classes ClassStore
}

var _ Plugin = (*Priority)(nil)

// Admit sets spec.priority and spec.preemptionPolicy of new pods.
func (p *Priority) Admit(ctx context.Context, a *registry.Attributes) error {
	pod, ok := a.Object.(*corev1.Pod)
	if !ok || a.Operation != registry.Create || a.Subresource != "" {
		return nil
	}
	priority := int32(0)
	policy := corev1.PreemptLowerPriority
	if pod.Spec.PriorityClassName == "" {
		def, err := p.globalDefault(ctx)
		if err != nil {
			return err
		}
		if def != nil {
			pod.Spec.PriorityClassName = def.Name
			priority = def.Value
			if def.PreemptionPolicy != nil {
				policy = *def.PreemptionPolicy
			}
		}
	} else {
		obj, err := p.Classes.Get(ctx, "", pod.Spec.PriorityClassName, "")
		if apierrors.IsNotFound(err) {
			return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
				fmt.Errorf("no PriorityClass with name %s was found", pod.Spec.PriorityClassName))
		}
		if err != nil {
			return err
		}
		pc := obj.(*schedulingv1.PriorityClass)
		priority = pc.Value
		if pc.PreemptionPolicy != nil {
			policy = *pc.PreemptionPolicy
		}
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != priority {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, fmt.Errorf(
			"the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name",
			*pod.Spec.Priority, priority))
	}
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy != policy {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, fmt.Errorf(
			"the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name",
			*pod.Spec.PreemptionPolicy, policy))
	}
	pod.Spec.Priority, pod.Spec.PreemptionPolicy = &priority, &policy
	return nil
}

// Validate refuses a second global default PriorityClass.
func (p *Priority) Validate(ctx context.Context, a *registry.Attributes) error {
	pc, ok := a.Object.(*schedulingv1.PriorityClass)
	if !ok || !pc.GlobalDefault || (a.Operation != registry.Create && a.Operation != registry.Update) {
		return nil
	}
	def, err := p.globalDefault(ctx)
	if err != nil {
		return err
	}
	if def != nil && def.Name != pc.Name {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
			fmt.Errorf("PriorityClass %s is already marked as default. Only one default can exist", def.Name))
	}
	return nil
}

func (p *Priority) globalDefault(ctx context.Context) (*schedulingv1.PriorityClass, error) {
	list, err := p.Classes.List(ctx, "", cachedList())
	if err != nil {
		return nil, err
	}
	l, _ := list.(*schedulingv1.PriorityClassList)
	var best *schedulingv1.PriorityClass
	for i := range l.Items {
		pc := &l.Items[i]
		if pc.GlobalDefault && (best == nil || pc.Value < best.Value) {
			best = pc
		}
	}
	return best, nil
}

// newestDefault returns the name of the newest object whose annotation
// marks it default (ties broken by name), or "".
func newestDefault(items []metav1.Object, annotations ...string) string {
	var defaults []metav1.Object
	for _, it := range items {
		for _, ann := range annotations {
			if it.GetAnnotations()[ann] == "true" {
				defaults = append(defaults, it)
				break
			}
		}
	}
	if len(defaults) == 0 {
		return ""
	}
	sort.Slice(defaults, func(i, j int) bool {
		ti, tj := defaults[i].GetCreationTimestamp(), defaults[j].GetCreationTimestamp()
		if !ti.Equal(&tj) {
			return tj.Before(&ti)
		}
		return defaults[i].GetName() < defaults[j].GetName()
	})
	return defaults[0].GetName()
}

// DefaultStorageClass gives new claims that name no class the default
// StorageClass.
type DefaultStorageClass struct {
	Classes Lister
}

// Admit sets spec.storageClassName of new claims without one.
func (p *DefaultStorageClass) Admit(ctx context.Context, a *registry.Attributes) error {
	c, ok := a.Object.(*corev1.PersistentVolumeClaim)
	if !ok || a.Operation != registry.Create || a.Subresource != "" || c.Spec.StorageClassName != nil ||
		c.Annotations[corev1.BetaStorageClassAnnotation] != "" {
		return nil
	}
	list, err := p.Classes.List(ctx, "", cachedList())
	if err != nil {
		return err
	}
	var items []metav1.Object
	for i := range list.(*storagev1.StorageClassList).Items {
		items = append(items, &list.(*storagev1.StorageClassList).Items[i])
	}
	if name := newestDefault(items, defaultStorageClassAnnotation, betaDefaultStorageClassAnnotation); name != "" {
		c.Spec.StorageClassName = &name
	}
	return nil
}

// Validate does nothing.
func (p *DefaultStorageClass) Validate(context.Context, *registry.Attributes) error { return nil }

// DefaultIngressClass gives new ingresses that name no class the default
// IngressClass.
type DefaultIngressClass struct {
	Classes Lister
}

// Admit sets spec.ingressClassName of new ingresses without one.
func (p *DefaultIngressClass) Admit(ctx context.Context, a *registry.Attributes) error {
	ing, ok := a.Object.(*networkingv1.Ingress)
	if !ok || a.Operation != registry.Create || a.Subresource != "" || ing.Spec.IngressClassName != nil ||
		ing.Annotations[legacyIngressClassAnnotation] != "" {
		return nil
	}
	list, err := p.Classes.List(ctx, "", cachedList())
	if err != nil {
		return err
	}
	var items []metav1.Object
	for i := range list.(*networkingv1.IngressClassList).Items {
		items = append(items, &list.(*networkingv1.IngressClassList).Items[i])
	}
	if name := newestDefault(items, defaultIngressClassAnnotation); name != "" {
		ing.Spec.IngressClassName = &name
	}
	return nil
}

// Validate does nothing.
func (p *DefaultIngressClass) Validate(context.Context, *registry.Attributes) error { return nil }

// RuntimeClass applies a pod's RuntimeClass: its overhead and its
// scheduling constraints; a missing class refuses the pod.
type RuntimeClass struct {
	Classes Getter
}

// Admit fills overhead, node selector and tolerations from the class.
func (p *RuntimeClass) Admit(ctx context.Context, a *registry.Attributes) error {
	pod, ok := a.Object.(*corev1.Pod)
	if !ok || a.Operation != registry.Create || a.Subresource != "" || pod.Spec.RuntimeClassName == nil || *pod.Spec.RuntimeClassName == "" {
		return nil
	}
	forbid := func(format string, args ...interface{}) error {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, fmt.Errorf("pod rejected: "+format, args...))
	}
	obj, err := p.Classes.Get(ctx, "", *pod.Spec.RuntimeClassName, "")
	if apierrors.IsNotFound(err) {
		return forbid("RuntimeClass %q not found", *pod.Spec.RuntimeClassName)
	}
	if err != nil {
		return err
	}
	rc := obj.(*nodev1.RuntimeClass)
	if rc.Overhead != nil {
		if pod.Spec.Overhead != nil && !apiequality.Semantic.DeepEqual(pod.Spec.Overhead, rc.Overhead.PodFixed) {
			return forbid("Pod's Overhead doesn't match RuntimeClass's defined Overhead")
		}
		pod.Spec.Overhead = rc.Overhead.PodFixed.DeepCopy()
	}
	if s := rc.Scheduling; s != nil {
		for k, v := range s.NodeSelector {
			if cur, ok := pod.Spec.NodeSelector[k]; ok && cur != v {
				return forbid("conflict: runtimeClass.scheduling.nodeSelector[%s] = %s; pod.spec.nodeSelector[%s] = %s", k, v, k, cur)
			}
			if pod.Spec.NodeSelector == nil {
				pod.Spec.NodeSelector = map[string]string{}
			}
			pod.Spec.NodeSelector[k] = v
		}
		for _, t := range s.Tolerations {
			present := false
			for _, have := range pod.Spec.Tolerations {
				if apiequality.Semantic.DeepEqual(have, t) {
					present = true
					break
				}
			}
			if !present {
				pod.Spec.Tolerations = append(pod.Spec.Tolerations, t)
			}
		}
	}
	return nil
}

// Validate does nothing.
func (p *RuntimeClass) Validate(context.Context, *registry.Attributes) error { return nil }

// PersistentVolumeClaimResize lets a claim's storage request grow only
// when its StorageClass allows volume expansion.
type PersistentVolumeClaimResize struct {
	Classes Getter
}

// Admit does nothing.
func (p *PersistentVolumeClaimResize) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate checks growing updates.
func (p *PersistentVolumeClaimResize) Validate(ctx context.Context, a *registry.Attributes) error {
	c, ok := a.Object.(*corev1.PersistentVolumeClaim)
	old, ok2 := a.OldObject.(*corev1.PersistentVolumeClaim)
	if !ok || !ok2 || a.Operation != registry.Update || a.Subresource != "" {
		return nil
	}
	now, before := c.Spec.Resources.Requests[corev1.ResourceStorage], old.Spec.Resources.Requests[corev1.ResourceStorage]
	if now.Cmp(before) <= 0 {
		return nil
	}
	refuse := apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
		fmt.Errorf("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"))
	if c.Spec.StorageClassName == nil || *c.Spec.StorageClassName == "" {
		return refuse
	}
	obj, err := p.Classes.Get(ctx, "", *c.Spec.StorageClassName, "")
	if apierrors.IsNotFound(err) {
		return refuse
	}
	if err != nil {
		return err
	}
	if sc := obj.(*storagev1.StorageClass); sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion {
		return refuse
	}
	return nil
}

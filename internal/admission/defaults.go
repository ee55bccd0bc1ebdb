package admission

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/kastle-dev/kastle/internal/registry"
)

// Small mutating plugins kube-apiserver enables by default.

// TaintNodesByCondition taints every new Node not-ready (NoSchedule)
// until its agent reports Ready and the node controller lifts the taint.
type TaintNodesByCondition struct{}

// Admit adds the taint to Node creates.
func (TaintNodesByCondition) Admit(_ context.Context, a *registry.Attributes) error {
	n, ok := a.Object.(*corev1.Node)
	if !ok || a.Operation != registry.Create || a.Subresource != "" {
		return nil
	}
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady && t.Effect == corev1.TaintEffectNoSchedule {
			return nil
		}
	}
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule})
	return nil
}

// Validate does nothing.
func (TaintNodesByCondition) Validate(context.Context, *registry.Attributes) error { return nil }

// defaultTolerationSeconds is kube-apiserver's
// --default-not-ready-toleration-seconds and
// --default-unreachable-toleration-seconds.
const defaultTolerationSeconds = int64(300)

// DefaultTolerationSeconds lets new pods stay 300 s on a node that turns
// not-ready or unreachable before they are evicted, unless they say
// otherwise.
type DefaultTolerationSeconds struct{}

// Admit adds the two NoExecute tolerations to pod creates that tolerate
// neither taint yet.
func (DefaultTolerationSeconds) Admit(_ context.Context, a *registry.Attributes) error {
	p, ok := a.Object.(*corev1.Pod)
	if !ok || a.Operation != registry.Create || a.Subresource != "" {
		return nil
	}
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		taint := &corev1.Taint{Key: key, Effect: corev1.TaintEffectNoExecute}
		tolerated := false
		for i := range p.Spec.Tolerations {
			if tolerates(&p.Spec.Tolerations[i], taint) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			secs := defaultTolerationSeconds
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: key,
				Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs})
		}
	}
	return nil
}

// tolerates reports whether t tolerates taint (key, effect and, for the
// Equal operator, value), as the scheduler reads tolerations.
func tolerates(t *corev1.Toleration, taint *corev1.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case corev1.TolerationOpExists:
		return true
	case "", corev1.TolerationOpEqual:
		return t.Key != "" && t.Value == taint.Value
	}
	return false
}

// Validate does nothing.
func (DefaultTolerationSeconds) Validate(context.Context, *registry.Attributes) error { return nil }

// The finalizers StorageObjectInUseProtection adds.
const (
	pvcProtectionFinalizer = "kubernetes.io/pvc-protection"
	pvProtectionFinalizer  = "kubernetes.io/pv-protection"
)

// StorageObjectInUseProtection adds the protection finalizers to new
// PersistentVolumeClaims and PersistentVolumes, so that one in use is not
// removed before its user lets go.
type StorageObjectInUseProtection struct{}

// Admit adds the finalizer on create.
func (StorageObjectInUseProtection) Admit(_ context.Context, a *registry.Attributes) error {
	if a.Operation != registry.Create || a.Subresource != "" {
		return nil
	}
	var fin string
	switch a.Object.(type) {
	case *corev1.PersistentVolumeClaim:
		fin = pvcProtectionFinalizer
	case *corev1.PersistentVolume:
		fin = pvProtectionFinalizer
	default:
		return nil
	}
	acc := a.Object.(interface {
		GetFinalizers() []string
		SetFinalizers([]string)
	})
	for _, f := range acc.GetFinalizers() {
		if f == fin {
			return nil
		}
	}
	acc.SetFinalizers(append(acc.GetFinalizers(), fin))
	return nil
}

// Validate does nothing.
func (StorageObjectInUseProtection) Validate(context.Context, *registry.Attributes) error { return nil }

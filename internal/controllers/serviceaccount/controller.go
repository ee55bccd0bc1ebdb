package serviceaccount

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/registry"
)

// DefaultName is the ServiceAccount every namespace has.
const DefaultName = "default"

// Ensure creates the default ServiceAccount of ns if it is missing.
// Terminating namespaces are left alone.
func Ensure(ctx context.Context, accounts *registry.Store, ns *corev1.Namespace) error {
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	if _, err := accounts.Get(ctx, ns.Name, DefaultName, "0"); err == nil {
		return nil
	}
	sa := accounts.Resource.New()
	sa.(*corev1.ServiceAccount).ObjectMeta = metav1.ObjectMeta{Name: DefaultName, Namespace: ns.Name}
	_, err := accounts.Create(ctx, ns.Name, sa, registry.WriteOptions{FieldManager: "kastle-serviceaccount-controller"})
	if apierrors.IsAlreadyExists(err) || apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		// Exists already, or the namespace went away meanwhile.
		return nil
	}
	return err
}

// IsDefault reports whether obj is a default ServiceAccount (its deletion
// means its namespace needs another).
func IsDefault(obj runtime.Object) (namespace string, ok bool) {
	sa, isSA := obj.(*corev1.ServiceAccount)
	if !isSA || sa.Name != DefaultName {
		return "", false
	}
	return sa.Namespace, true
}

package rootca

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/registry"
)

// Name and Key of the published ConfigMap, as Kubernetes names them.
const (
	Name = "kube-root-ca.crt"
	Key  = "ca.crt"
)

// Ensure writes caPEM to ns's kube-root-ca.crt unless it already holds it.
func Ensure(ctx context.Context, configMaps *registry.Store, ns *corev1.Namespace, caPEM string) error {
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	cur, err := configMaps.Get(ctx, ns.Name, Name, "0")
	if err == nil {
		cm := cur.(*corev1.ConfigMap)
		if cm.Data[Key] == caPEM && len(cm.Data) == 1 {
			return nil
		}
		_, err = configMaps.Update(ctx, ns.Name, Name, func(o runtime.Object) (runtime.Object, error) {
			c := o.(*corev1.ConfigMap)
			c.Data, c.BinaryData = map[string]string{Key: caPEM}, nil
			return c, nil
		}, registry.WriteOptions{FieldManager: "kastle-root-ca-publisher"})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // the next event brings it back
		}
		return err
	}
	obj := configMaps.Resource.New()
	obj.(*corev1.ConfigMap).ObjectMeta = metav1.ObjectMeta{Name: Name, Namespace: ns.Name}
	obj.(*corev1.ConfigMap).Data = map[string]string{Key: caPEM}
	_, err = configMaps.Create(ctx, ns.Name, obj, registry.WriteOptions{FieldManager: "kastle-root-ca-publisher"})
	if apierrors.IsAlreadyExists(err) || apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// IsPublished reports whether obj is a published copy, whose change must
// be undone.
func IsPublished(obj runtime.Object) (namespace string, ok bool) {
	cm, isCM := obj.(*corev1.ConfigMap)
	if !isCM || cm.Name != Name {
		return "", false
	}
	return cm.Namespace, true
}

package admission

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/registry"
)

// Getter reads one object of a resource (a registry store); resourceVersion
// as in the API ("0" allows a cached answer, "" is the latest state).
type Getter interface {
	Get(ctx context.Context, ns, name, resourceVersion string) (runtime.Object, error)
}

// ImmortalNamespaces cannot be deleted.
var immortalNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

// NamespaceLifecycle rejects content in namespaces that do not exist or
// are being deleted, and the deletion of the system namespaces.
type NamespaceLifecycle struct {
	Namespaces Getter
}

var _ Plugin = (*NamespaceLifecycle)(nil)

// Admit does nothing: the plugin only validates.
func (p *NamespaceLifecycle) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate checks the namespace of a create, and namespace deletions.
func (p *NamespaceLifecycle) Validate(ctx context.Context, a *registry.Attributes) error {
	if a.Resource.Group == "" && a.Resource.Plural == "namespaces" {
		if a.Operation == registry.Delete && immortalNamespaces[a.Name] {
			return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, fmt.Errorf("this namespace may not be deleted"))
		}
		return nil
	}
	if !a.Resource.Namespaced || a.Operation != registry.Create {
		return nil
	}
	obj, err := p.Namespaces.Get(ctx, "", a.Namespace, "0")
	if apierrors.IsNotFound(err) {
		// The cache may lag a namespace created just now: ask storage.
		obj, err = p.Namespaces.Get(ctx, "", a.Namespace, "")
	}
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(corev1.Resource("namespaces"), a.Namespace)
	}
	if err != nil {
		return err
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return apierrors.NewInternalError(fmt.Errorf("namespace %q has type %T", a.Namespace, obj))
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", a.Namespace))
	}
	return nil
}

// cachedList lists from the watch cache as it stands. Admission reads
// quotas, limit ranges and classes on every write; a consistent read would
// cost an etcd round trip each time (kube-apiserver reads informers).
func cachedList() *metav1.ListOptions { return &metav1.ListOptions{ResourceVersion: "0"} }

package registry

import (
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/apis"
)

// validateObjectMeta applies the metadata rules every resource shares.
// Per-kind name rules (DNS label vs subdomain vs path segment) live in the
// kind's own validation; this checks the subdomain form they all accept,
// except for custom resources whose names must be subdomains too.
func validateObjectMeta(acc metav1.Object, r *apis.Resource) field.ErrorList {
	om, ok := acc.(*metav1.ObjectMeta)
	if !ok {
		// Unstructured objects: validate a typed copy of their metadata.
		om = &metav1.ObjectMeta{
			Name: acc.GetName(), GenerateName: acc.GetGenerateName(), Namespace: acc.GetNamespace(),
			Labels: acc.GetLabels(), Annotations: acc.GetAnnotations(), Finalizers: acc.GetFinalizers(),
			OwnerReferences: acc.GetOwnerReferences(), ManagedFields: acc.GetManagedFields(),
		}
	}
	return apivalidation.ValidateObjectMeta(om, r.Namespaced, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
}

// validateObjectMetaUpdate checks metadata immutability on update.
func validateObjectMetaUpdate(acc, old metav1.Object, r *apis.Resource) field.ErrorList {
	errs := validateObjectMeta(acc, r)
	if acc.GetName() != old.GetName() {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), acc.GetName(), "field is immutable"))
	}
	if acc.GetNamespace() != old.GetNamespace() {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "namespace"), acc.GetNamespace(), "field is immutable"))
	}
	return errs
}

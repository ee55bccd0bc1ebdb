//go:build !wired

package apis

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/crd"
)

func builtinBehaviour(gk schema.GroupKind) Behaviour {
	if gk == apiextensionsv1.Kind("CustomResourceDefinition") {
		return Behaviour{
			Default: func(obj runtime.Object) { crd.DefaultCRD(obj.(*apiextensionsv1.CustomResourceDefinition)) },
			Validate: func(obj runtime.Object) field.ErrorList {
				return crd.ValidateCRD(obj.(*apiextensionsv1.CustomResourceDefinition))
			},
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return crd.ValidateCRDUpdate(obj.(*apiextensionsv1.CustomResourceDefinition), old.(*apiextensionsv1.CustomResourceDefinition))
			},
		}
	}
	return Behaviour{}
}

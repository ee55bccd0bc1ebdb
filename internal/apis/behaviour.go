package apis

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/kastle-dev/kastle/internal/apis/defaults"
	"github.com/kastle-dev/kastle/internal/apis/printers"
	"github.com/kastle-dev/kastle/internal/apis/validation"
	"github.com/kastle-dev/kastle/internal/crd"
)

// builtinBehaviour wires the shared defaulting, validation and printing
// packages into a catalogue row.
func builtinBehaviour(gk schema.GroupKind) Behaviour {
	p, ok := printers.For(gk)
	if !ok {
		p = printers.Default()
	}
	if gk == apiextensionsv1.Kind("CustomResourceDefinition") {
		return crdBehaviour(p)
	}
	return Behaviour{
		Default:              defaults.Default,
		Validate:             validation.Validate,
		ValidateUpdate:       validation.ValidateUpdate,
		ValidateStatusUpdate: validation.ValidateStatusUpdate,
		Columns:              p.Columns,
		Row:                  func(obj runtime.Object) ([]interface{}, error) { return p.Row(obj, time.Now()) },
	}
}

// crdBehaviour checks CustomResourceDefinitions with the CRD rules
// (structural schemas, names, versions).
func crdBehaviour(p *printers.Printer) Behaviour {
	return Behaviour{
		Default: func(obj runtime.Object) { crd.DefaultCRD(obj.(*apiextensionsv1.CustomResourceDefinition)) },
		Validate: func(obj runtime.Object) field.ErrorList {
			return crd.ValidateCRD(obj.(*apiextensionsv1.CustomResourceDefinition))
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return crd.ValidateCRDUpdate(obj.(*apiextensionsv1.CustomResourceDefinition), old.(*apiextensionsv1.CustomResourceDefinition))
		},
		Columns: p.Columns,
		Row:     func(obj runtime.Object) ([]interface{}, error) { return p.Row(obj, time.Now()) },
	}
}

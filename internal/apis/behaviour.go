//go:build wired

package apis

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/apis/defaults"
	"github.com/kastle-dev/kastle/internal/apis/printers"
	"github.com/kastle-dev/kastle/internal/apis/validation"
)

// builtinBehaviour wires the shared defaulting, validation and printing
// packages into a catalogue row.
func builtinBehaviour(gk schema.GroupKind) Behaviour {
	p, ok := printers.For(gk)
	if !ok {
		p = printers.Default()
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

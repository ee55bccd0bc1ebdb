package admission

import (
	"context"

	"github.com/kastle-dev/kastle/internal/registry"
)

// Plugin is one admission plugin. A plugin that only validates returns nil
// from Admit, and the reverse.
type Plugin interface {
	Admit(ctx context.Context, a *registry.Attributes) error
	Validate(ctx context.Context, a *registry.Attributes) error
}

// Chain runs plugins in order: every Admit, then (after the registry's
// own validation) every Validate.
type Chain []Plugin

var _ registry.Admission = Chain(nil)

// Admit runs the mutating phase.
func (c Chain) Admit(ctx context.Context, a *registry.Attributes) error {
	for _, p := range c {
		if err := p.Admit(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// Validate runs the validating phase.
func (c Chain) Validate(ctx context.Context, a *registry.Attributes) error {
	for _, p := range c {
		if err := p.Validate(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

package webhook

import (
	"context"
	"fmt"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kastle-dev/kastle/internal/registry"
)

// Mutating is the MutatingAdmissionWebhook plugin.
type Mutating struct {
	D     *Dispatcher
	Hooks *Cache[hookSet]
}

// Validating is the ValidatingAdmissionWebhook plugin.
type Validating struct {
	D     *Dispatcher
	Hooks *Cache[hookSet]
}

// dryRunCheck refuses to send a dry-run request to a webhook with side
// effects, as upstream does (400).
func dryRunCheck(a *registry.Attributes, h *hook) error {
	if !a.DryRun {
		return nil
	}
	if h.sideEffects == admissionregistrationv1.SideEffectClassNone || h.sideEffects == admissionregistrationv1.SideEffectClassNoneOnDryRun {
		return nil
	}
	return apierrors.NewBadRequest(fmt.Sprintf("admission webhook %q has side effects and does not support dry run", h.name))
}

// Admit calls the matching mutating webhooks in order and applies their
// patches; webhooks with reinvocationPolicy IfNeeded run once more when a
// later webhook changed the object after them.
func (p *Mutating) Admit(ctx context.Context, a *registry.Attributes) error {
	if a.Object == nil || exempt(a) {
		return nil
	}
	hooks, ok := p.Hooks.Ready(ctx)
	if !ok {
		return notReady(a)
	}
	if len(hooks) == 0 {
		return nil
	}
	req := requestOf(a)
	va := lazyAttrs(ctx, a)
	var called []*hook
	changedAfter := map[*hook]bool{}
	for _, h := range hooks {
		changed, ok, err := p.one(ctx, a, req, h, va)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if changed {
			// Later match conditions see the patched object.
			va = lazyAttrs(ctx, a)
			for _, c := range called {
				changedAfter[c] = true
			}
		}
		called = append(called, h)
	}
	for _, h := range called {
		if !h.reinvoke || !changedAfter[h] {
			continue
		}
		if _, _, err := p.one(ctx, a, req, h, va); err != nil {
			return err
		}
	}
	return nil
}

// one runs h if it matches: changed reports a patch that changed the
// object, called that h was asked.
func (p *Mutating) one(ctx context.Context, a *registry.Attributes, req reqInfo, h *hook, va func() *vattrs) (changed, called bool, err error) {
	version, ok, err := p.D.matches(ctx, a, req, h, va)
	if err != nil || !ok {
		return false, false, err
	}
	if err := dryRunCheck(a, h); err != nil {
		return false, false, err
	}
	resp, err := p.D.call(ctx, a, h, version)
	if err != nil {
		return false, true, p.D.failure(h, err)
	}
	report(ctx, h, resp)
	if !resp.allowed {
		return false, true, denied(h, resp.result)
	}
	if len(resp.patch) == 0 {
		return false, true, nil
	}
	before := a.Object.DeepCopyObject()
	if err := applyPatch(a, h, resp.patch, version); err != nil {
		return false, true, p.D.failure(h, err)
	}
	return !equality.Semantic.DeepEqual(before, a.Object), true, nil
}

// Validate does nothing: the plugin only mutates.
func (p *Mutating) Validate(context.Context, *registry.Attributes) error { return nil }

// Admit does nothing: the plugin only validates.
func (p *Validating) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate calls the matching validating webhooks in parallel; the first
// denial or failure (in configuration order) rejects the request.
func (p *Validating) Validate(ctx context.Context, a *registry.Attributes) error {
	if exempt(a) {
		return nil
	}
	hooks, ok := p.Hooks.Ready(ctx)
	if !ok {
		return notReady(a)
	}
	if len(hooks) == 0 {
		return nil
	}
	req := requestOf(a)
	va := lazyAttrs(ctx, a)
	var todo []*hook
	var versions []string
	for _, h := range hooks {
		version, ok, err := p.D.matches(ctx, a, req, h, va)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := dryRunCheck(a, h); err != nil {
			return err
		}
		todo = append(todo, h)
		versions = append(versions, version)
	}
	if len(todo) == 0 {
		return nil
	}
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for i, h := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := p.D.call(ctx, a, h, versions[i])
			if err != nil {
				errs[i] = p.D.failure(h, err)
				return
			}
			report(ctx, h, resp)
			if !resp.allowed {
				errs[i] = denied(h, resp.result)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// failure applies h's failurePolicy to a failed call: Ignore logs and
// admits, Fail rejects with the call's status.
func (d *Dispatcher) failure(h *hook, err error) error {
	ec, ok := err.(*errCall)
	if !ok {
		return err
	}
	if h.failurePolicy == admissionregistrationv1.Ignore {
		if d.Log != nil {
			d.Log.Warn("admission webhook failed, ignored by failurePolicy", "webhook", h.name, "err", ec.err)
		}
		return nil
	}
	return ec.status
}

// exempt reports the objects webhooks never see, as upstream: the webhook
// configurations and policies themselves, so a broken webhook cannot lock
// out its own repair.
func exempt(a *registry.Attributes) bool {
	if a.Resource.Group != admissionregistrationv1.GroupName {
		return false
	}
	switch a.Resource.Plural {
	case "mutatingwebhookconfigurations", "validatingwebhookconfigurations",
		"validatingadmissionpolicies", "validatingadmissionpolicybindings":
		return true
	}
	return false
}

// notReady is upstream's answer while the configurations are not loaded.
func notReady(a *registry.Attributes) error {
	return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, fmt.Errorf("not yet ready to handle request"))
}

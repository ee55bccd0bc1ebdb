package webhook

import (
	"context"
	"log/slog"

	"github.com/kastle-dev/kastle/internal/auth/authz"
)

// Config is what the dynamic admission plugins read from the server.
type Config struct {
	// The four admissionregistration.k8s.io stores, watched into caches.
	MutatingConfigs, ValidatingConfigs, Policies, Bindings Watcher
	// Namespaces (selectors), Services and Endpoints (service webhooks).
	Namespaces, Services, Endpoints Getter
	Params                          ParamResolver
	Authorizer                      authz.Authorizer
	Log                             *slog.Logger
	// Served names the served kinds, for matchPolicy Equivalent.
	Served KindResolver
}

// Sources holds the caches the three plugins share.
type Sources struct {
	d                    *Dispatcher
	mutating, validating *Cache[hookSet]
	policies             *Cache[policySet]
	bindings             *Cache[bindingSet]
	params               ParamResolver
}

// NewSources starts the caches; they stop with ctx.
func NewSources(ctx context.Context, cfg Config) *Sources {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	return &Sources{
		d:          &Dispatcher{Namespaces: cfg.Namespaces, Services: cfg.Services, Endpoints: cfg.Endpoints, Authorizer: cfg.Authorizer, Log: log, Served: cfg.Served},
		mutating:   NewCache(ctx, cfg.MutatingConfigs, log, compileMutating),
		validating: NewCache(ctx, cfg.ValidatingConfigs, log, compileValidating),
		policies:   NewCache(ctx, cfg.Policies, log, policyCompiler()),
		bindings:   NewCache(ctx, cfg.Bindings, log, compileBindings),
		params:     cfg.Params,
	}
}

// WaitForSync blocks until every cache read its initial state or ctx ends.
func (s *Sources) WaitForSync(ctx context.Context) {
	for _, ch := range []<-chan struct{}{s.mutating.Synced(), s.validating.Synced(), s.policies.Synced(), s.bindings.Synced()} {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// Mutating is the MutatingAdmissionWebhook plugin. A nil Sources (a
// server without admissionregistration stores) has no configurations.
func (s *Sources) Mutating() *Mutating {
	if s == nil {
		s = empty()
	}
	return &Mutating{D: s.d, Hooks: s.mutating}
}

// Validating is the ValidatingAdmissionWebhook plugin.
func (s *Sources) Validating() *Validating {
	if s == nil {
		s = empty()
	}
	return &Validating{D: s.d, Hooks: s.validating}
}

// Policies is the ValidatingAdmissionPolicy plugin.
func (s *Sources) Policies() *PolicyPlugin {
	if s == nil {
		s = empty()
	}
	return &PolicyPlugin{D: s.d, Policies: s.policies, Bindings: s.bindings, Params: s.params}
}

// empty is a Sources with no configurations and no watches.
func empty() *Sources {
	return NewSources(context.Background(), Config{})
}

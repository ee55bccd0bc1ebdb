package admission

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kastle-dev/kastle/internal/admission/webhook"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/registry"
)

// Deps are what plugins may need from the server.
type Deps struct {
	Namespaces Getter
	// ServiceAccounts reads ServiceAccounts (same shape as Namespaces).
	ServiceAccounts Getter
	// Pods and Nodes read pods and nodes (NodeRestriction).
	Pods, Nodes Getter
	// PodList lists a namespace's pods (PodSecurity's warnings about
	// existing pods).
	PodList Lister
	// Warn sends a warning to the client of the request in ctx.
	Warn func(ctx context.Context, msg string)
	// Quotas reads and charges ResourceQuotas.
	Quotas QuotaStore
	// LimitRanges lists a namespace's LimitRanges.
	LimitRanges Lister
	// The class stores: PriorityClasses, StorageClasses, IngressClasses,
	// RuntimeClasses.
	PriorityClasses, StorageClasses, IngressClasses, RuntimeClasses ClassStore
	// Authorizer is the server's authorizer chain (for plugins that check
	// permissions such as approve or sign on signers).
	Authorizer authz.Authorizer
	// Dynamic feeds the webhook and policy plugins; nil when the server
	// has none (then those plugins cannot be enabled).
	Dynamic *webhook.Sources
}

// factories builds each known plugin by its kube-apiserver name. The
// order of this table is the order plugins run in.
var factories = []struct {
	name       string
	onDefault  bool
	newFromDep func(Deps) Plugin
}{
	{"NamespaceLifecycle", true, func(d Deps) Plugin { return &NamespaceLifecycle{Namespaces: d.Namespaces} }},
	{"LimitRanger", true, func(d Deps) Plugin { return &LimitRanger{LimitRanges: d.LimitRanges} }},
	{"ServiceAccount", true, func(d Deps) Plugin { return &ServiceAccount{Accounts: d.ServiceAccounts} }},
	{"NodeRestriction", true, func(d Deps) Plugin { return &NodeRestriction{Pods: d.Pods, Nodes: d.Nodes} }},
	{"TaintNodesByCondition", true, func(Deps) Plugin { return TaintNodesByCondition{} }},
	{"PodSecurity", true, func(d Deps) Plugin { return newPodSecurity(d.Namespaces, d.PodList, d.Warn) }},
	{"Priority", true, func(d Deps) Plugin { return &Priority{Classes: d.PriorityClasses} }},
	{"DefaultTolerationSeconds", true, func(Deps) Plugin { return DefaultTolerationSeconds{} }},
	{"DefaultStorageClass", true, func(d Deps) Plugin { return &DefaultStorageClass{Classes: d.StorageClasses} }},
	{"StorageObjectInUseProtection", true, func(Deps) Plugin { return StorageObjectInUseProtection{} }},
	{"PersistentVolumeClaimResize", true, func(d Deps) Plugin { return &PersistentVolumeClaimResize{Classes: d.StorageClasses} }},
	{"RuntimeClass", true, func(d Deps) Plugin { return &RuntimeClass{Classes: d.RuntimeClasses} }},
	{"CertificateApproval", true, func(d Deps) Plugin { return &CertificateApproval{Authorizer: d.Authorizer} }},
	{"CertificateSigning", true, func(d Deps) Plugin { return &CertificateSigning{Authorizer: d.Authorizer} }},
	{"CertificateSubjectRestriction", true, func(Deps) Plugin { return CertificateSubjectRestriction{} }},
	{"DefaultIngressClass", true, func(d Deps) Plugin { return &DefaultIngressClass{Classes: d.IngressClasses} }},
	// Dynamic admission after the built-in plugins, in upstream's order:
	// mutating webhooks, then policies, then validating webhooks.
	{"MutatingAdmissionWebhook", true, func(d Deps) Plugin { return d.Dynamic.Mutating() }},
	{"ValidatingAdmissionPolicy", true, func(d Deps) Plugin { return d.Dynamic.Policies() }},
	{"ValidatingAdmissionWebhook", true, func(d Deps) Plugin { return d.Dynamic.Validating() }},
	{"ResourceQuota", true, func(d Deps) Plugin { return &ResourceQuota{Quotas: d.Quotas} }},
	{"AlwaysAdmit", false, func(Deps) Plugin { return alwaysAdmit{} }},
	{"AlwaysDeny", false, func(Deps) Plugin { return alwaysDeny{} }},
}

// Names lists the known plugins.
func Names() []string {
	out := make([]string, len(factories))
	for i, f := range factories {
		out[i] = f.name
	}
	sort.Strings(out)
	return out
}

// NewChain builds the chain from --enable-admission-plugins and
// --disable-admission-plugins: the default-on plugins plus enabled ones,
// minus disabled ones, in the fixed order above. Unknown names are errors.
func NewChain(enable, disable []string, deps Deps) (Chain, error) {
	known := map[string]bool{}
	for _, f := range factories {
		known[f.name] = true
	}
	want := map[string]bool{}
	for _, f := range factories {
		want[f.name] = f.onDefault
	}
	for _, n := range enable {
		if !known[n] {
			return nil, fmt.Errorf("unknown admission plugin %q (known: %s)", n, strings.Join(Names(), ", "))
		}
		want[n] = true
	}
	for _, n := range disable {
		if !known[n] {
			return nil, fmt.Errorf("unknown admission plugin %q (known: %s)", n, strings.Join(Names(), ", "))
		}
		want[n] = false
	}
	var c Chain
	for _, f := range factories {
		if want[f.name] {
			c = append(c, f.newFromDep(deps))
		}
	}
	return c, nil
}

// alwaysAdmit admits everything (seed 004's AlwaysAdmit).
type alwaysAdmit struct{}

func (alwaysAdmit) Admit(context.Context, *registry.Attributes) error    { return nil }
func (alwaysAdmit) Validate(context.Context, *registry.Attributes) error { return nil }

// alwaysDeny rejects every write (seed 004's AlwaysDeny), for tests.
type alwaysDeny struct{}

func (alwaysDeny) Admit(context.Context, *registry.Attributes) error { return nil }
func (alwaysDeny) Validate(_ context.Context, a *registry.Attributes) error {
	return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, fmt.Errorf("admission control is denying all modifications"))
}

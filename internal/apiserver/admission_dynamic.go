package apiserver

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/admission/webhook"
	"github.com/kastle-dev/kastle/internal/registry"
)

// dynamicAdmission starts the caches of webhook configurations, policies
// and bindings; they stop when the server does.
func (s *server) dynamicAdmission() *webhook.Sources {
	store := func(g, v, plural string) *registry.Store {
		st, _ := s.stores.Store(mustLookup(s.catalogue, g, v, plural))
		return st
	}
	const ar = "admissionregistration.k8s.io"
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-s.done; cancel() }()
	return webhook.NewSources(ctx, webhook.Config{
		MutatingConfigs:   store(ar, "v1", "mutatingwebhookconfigurations"),
		ValidatingConfigs: store(ar, "v1", "validatingwebhookconfigurations"),
		Policies:          store(ar, "v1", "validatingadmissionpolicies"),
		Bindings:          store(ar, "v1", "validatingadmissionpolicybindings"),
		Namespaces:        store("", "v1", "namespaces"),
		Services:          store("", "v1", "services"),
		Endpoints:         store("", "v1", "endpoints"),
		Params:            paramResolver{s},
		Authorizer:        s.authorizer,
		Log:               s.log,
	})
}

// paramResolver reads policy parameters from the served resources.
type paramResolver struct{ s *server }

// Params finds the resource serving apiVersion/kind and reads one object
// by name or the objects matching sel.
func (p paramResolver) Params(ctx context.Context, apiVersion, kind, ns, name string, sel labels.Selector) ([]runtime.Object, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false, err
	}
	for _, r := range p.s.catalogue.Resources() {
		if r.Group != gv.Group || r.Version != gv.Version || r.Kind != kind || r.Virtual {
			continue
		}
		st, ok := p.s.stores.Store(r)
		if !ok {
			break
		}
		if !r.Namespaced {
			ns = ""
		}
		if sel == nil {
			obj, err := st.Get(ctx, ns, name, "0")
			if err != nil {
				return nil, r.Namespaced, err
			}
			return []runtime.Object{obj}, r.Namespaced, nil
		}
		list, err := st.List(ctx, ns, &metav1.ListOptions{LabelSelector: sel.String(), ResourceVersion: "0"})
		if err != nil {
			return nil, r.Namespaced, err
		}
		items, err := meta.ExtractList(list)
		return items, r.Namespaced, err
	}
	return nil, false, apierrors.NewNotFound(schema.GroupResource{Group: gv.Group, Resource: kind}, name)
}

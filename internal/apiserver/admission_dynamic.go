package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/kube-openapi/pkg/validation/spec"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/admission/webhook"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
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
	go s.typeCheckPolicies(ctx)
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
		Served: func(g, v, plural string) (string, bool) {
			r, ok := s.catalogue.Lookup(g, v, plural)
			if !ok {
				return "", false
			}
			return r.Kind, true
		},
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

// openapiSchemas resolves kinds' schemas from the served OpenAPI v3
// documents, for policy type checking.
type openapiSchemas struct{ s *server }

const componentsPrefix = "#/components/schemas/"

// ResolveSchema finds the component of gvk and inlines its $refs.
func (o openapiSchemas) ResolveSchema(gvk schema.GroupVersionKind) (*spec.Schema, error) {
	defs := o.s.openapi.Schemas(gvk.GroupVersion())
	root := ""
	for name, d := range defs {
		if hasGVK(d, gvk) {
			root = componentsPrefix + name
			break
		}
	}
	if root == "" {
		return nil, fmt.Errorf("no schema for %v", gvk)
	}
	return resolver.PopulateRefs(func(ref string) (*spec.Schema, bool) {
		d, ok := defs[strings.TrimPrefix(ref, componentsPrefix)]
		if !ok {
			return nil, false
		}
		c := *d
		return &c, true
	}, root)
}

func hasGVK(s *spec.Schema, gvk schema.GroupVersionKind) bool {
	v, ok := s.Extensions["x-kubernetes-group-version-kind"]
	if !ok {
		return false
	}
	// The extension's Go shape depends on how the document was built:
	// compare through its JSON form.
	raw, err := json.Marshal(v)
	if err != nil {
		return false
	}
	var list []struct{ Group, Version, Kind string }
	if json.Unmarshal(raw, &list) != nil {
		return false
	}
	for _, e := range list {
		if e.Group == gvk.Group && e.Version == gvk.Version && e.Kind == gvk.Kind {
			return true
		}
	}
	return false
}

// typeCheckPolicies keeps status.typeChecking and observedGeneration of
// ValidatingAdmissionPolicies current: each new generation is checked
// against the schemas of the kinds it matches.
func (s *server) typeCheckPolicies(ctx context.Context) {
	st, _ := s.stores.Store(mustLookup(s.catalogue, "admissionregistration.k8s.io", "v1", "validatingadmissionpolicies"))
	changed := make(chan struct{}, 1)
	c := webhook.NewCache(ctx, st, s.log, func(objs []runtime.Object) []runtime.Object {
		select {
		case changed <- struct{}{}:
		default:
		}
		return objs
	})
	kinds := func(g, v, plural string) (string, bool) {
		r, ok := s.catalogue.Lookup(g, v, plural)
		if !ok {
			return "", false
		}
		return r.Kind, true
	}
	ctx = request.WithUser(ctx, systemUser)
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		for _, o := range c.Load() {
			p, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicy)
			if !ok || p.Status.ObservedGeneration == p.Generation {
				continue
			}
			warnings := webhook.TypeCheck(p, kinds, openapiSchemas{s})
			_, err := st.Update(ctx, "", p.Name, func(cur runtime.Object) (runtime.Object, error) {
				cp := cur.(*admissionregistrationv1.ValidatingAdmissionPolicy)
				if cp.Generation != p.Generation {
					return cp, nil // a newer generation gets its own check
				}
				cp.Status.ObservedGeneration = p.Generation
				cp.Status.TypeChecking = &admissionregistrationv1.TypeChecking{ExpressionWarnings: warnings}
				return cp, nil
			}, registry.WriteOptions{FieldManager: "kastle-policy-typechecker", Subresource: "status"})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				s.log.Warn("updating policy type checking", "policy", p.Name, "err", err)
			}
		}
	}
}

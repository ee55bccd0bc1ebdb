package openapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resource describes one served resource as far as the OpenAPI documents
// need it. Built-in resources set GoType (and GoListType); resources defined
// by a CustomResourceDefinition leave GoType nil and set CRDSchema.
type Resource struct {
	// GVK is the group, version and kind of the resource's objects.
	GVK schema.GroupVersionKind
	// ListKind is the kind of the list type; "<Kind>List" when empty.
	ListKind string
	// Plural is the resource name used in URL paths, e.g. "configmaps".
	Plural string
	// Namespaced reports whether objects live in namespaces.
	Namespaced bool
	// Verbs are the Kubernetes verbs served for the resource ("get", "list",
	// "watch", "create", "update", "patch", "delete", "deletecollection").
	// Only the operations of these verbs appear in the documents' paths.
	Verbs []string
	// Subresources are served subresources such as "status", "scale",
	// "approval", "token", "eviction", "binding". Subresources without a
	// request body schema (log, exec, proxy, ...) are left out of the paths.
	Subresources []string
	// GoType is the Go struct of a built-in kind, e.g.
	// reflect.TypeOf(corev1.ConfigMap{}); a pointer type is dereferenced.
	GoType reflect.Type
	// GoListType is the Go struct of the built-in list kind, or nil when the
	// resource has no list verb.
	GoListType reflect.Type
	// CRDSchema is the structural schema of a custom resource version. Nil
	// with GoType nil means an object that keeps any field.
	CRDSchema *apiextensionsv1.JSONSchemaProps
	// PreserveUnknownFields marks a custom resource whose unknown fields are
	// kept (spec.preserveUnknownFields of the CRD).
	PreserveUnknownFields bool
}

// listKind returns the list kind, defaulting to "<Kind>List".
func (r *Resource) listKind() string {
	if r.ListKind != "" {
		return r.ListKind
	}
	return r.GVK.Kind + "List"
}

// hasVerb reports whether the resource serves verb v.
func (r *Resource) hasVerb(v string) bool {
	for _, x := range r.Verbs {
		if x == v {
			return true
		}
	}
	return false
}

// hasSubresource reports whether the resource serves subresource s.
func (r *Resource) hasSubresource(s string) bool {
	for _, x := range r.Subresources {
		if x == s {
			return true
		}
	}
	return false
}

// isCRD reports whether the resource's schema comes from a CRD.
func (r *Resource) isCRD() bool { return r.GoType == nil }

// fingerprint identifies everything about r that shows in a document, so a
// group-version's cached document is reused only while nothing changed.
func (r *Resource) fingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%t|%s|%s|%t|", r.GVK, r.listKind(), r.Plural, r.Namespaced,
		strings.Join(r.Verbs, ","), strings.Join(r.Subresources, ","), r.PreserveUnknownFields)
	for _, t := range []reflect.Type{r.GoType, r.GoListType} {
		if t != nil {
			t = deref(t)
			b.WriteString(t.PkgPath() + "." + t.Name() + "|")
		}
	}
	if r.CRDSchema != nil {
		// A marshalling error cannot happen for this plain data type; if it
		// did, an empty fingerprint part only costs a rebuild.
		raw, _ := json.Marshal(r.CRDSchema)
		b.Write(raw)
	}
	return b.String()
}

// deref strips pointer indirections from t.
func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

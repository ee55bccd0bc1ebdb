package apiserver

import (
	"sort"
	"strconv"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	kruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// Selectable fields of custom resources (CRD spec.versions[].selectableFields,
// on by default in Kubernetes 1.32): each is a simple path such as
// .spec.color whose string, integer or boolean value a field selector may
// name as spec.color.

// selectablePaths returns a version's selectable field labels ("spec.color").
func selectablePaths(v apiextensionsv1.CustomResourceDefinitionVersion) []string {
	out := make([]string, 0, len(v.SelectableFields))
	for _, f := range v.SelectableFields {
		out = append(out, strings.TrimPrefix(f.JSONPath, "."))
	}
	return out
}

// unionSelectable returns every version's selectable labels, sorted: the
// watch cache, shared by the versions, indexes all of them.
func unionSelectable(obj *apiextensionsv1.CustomResourceDefinition) []string {
	set := map[string]bool{}
	for _, v := range obj.Spec.Versions {
		for _, p := range selectablePaths(v) {
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// customFields returns the Fields function of the given labels, or nil.
func customFields(paths []string) func(kruntime.Object) fields.Set {
	if len(paths) == 0 {
		return nil
	}
	return func(obj kruntime.Object) fields.Set {
		fs := make(fields.Set, len(paths))
		u, _ := obj.(*unstructured.Unstructured)
		for _, p := range paths {
			fs[p] = ""
			if u == nil {
				continue
			}
			v, found, err := unstructured.NestedFieldNoCopy(u.Object, strings.Split(p, ".")...)
			if err != nil || !found {
				continue
			}
			switch x := v.(type) {
			case string:
				fs[p] = x
			case bool:
				fs[p] = strconv.FormatBool(x)
			case int64:
				fs[p] = strconv.FormatInt(x, 10)
			case float64:
				fs[p] = strconv.FormatFloat(x, 'f', -1, 64)
			}
		}
		return fs
	}
}

// customAttrs computes the labels and fields the watch cache indexes for a
// custom resource: metadata.name, metadata.namespace and paths.
func customAttrs(namespaced bool, paths []string) storage.AttrFunc {
	extra := customFields(paths)
	return func(obj kruntime.Object) (labels.Set, fields.Set, error) {
		acc, err := meta.Accessor(obj)
		if err != nil {
			return nil, nil, err
		}
		fs := fields.Set{"metadata.name": acc.GetName()}
		if namespaced {
			fs["metadata.namespace"] = acc.GetNamespace()
		}
		if extra != nil {
			for k, v := range extra(obj) {
				fs[k] = v
			}
		}
		return labels.Set(acc.GetLabels()), fs, nil
	}
}

package crd

import (
	"sort"
	"strconv"
)

// Prune removes from obj, in place, every field the schema does not
// specify, recursively, except below x-kubernetes-preserve-unknown-fields
// or additionalProperties: true. At the root and in embedded resources
// apiVersion and kind are kept, and metadata is cut down to the ObjectMeta
// fields. It returns the removed paths, sorted, in the form kube-apiserver
// uses for fieldValidation warnings ("spec.foo", "spec.items[0].bar").
// Values whose type does not match the schema are left for Validate.
func (s *Schema) Prune(obj map[string]interface{}) []string {
	var pruned []string
	pruneValue(obj, s.root, "", true, &pruned)
	sort.Strings(pruned)
	return pruned
}

func pruneValue(v interface{}, n *node, path string, isRoot bool, pruned *[]string) {
	if n == nil {
		return
	}
	switch val := v.(type) {
	case map[string]interface{}:
		isResource := isRoot || n.embedded
		for k, child := range val {
			childPath := joinPath(path, k)
			if isResource {
				switch k {
				case "apiVersion", "kind":
					continue
				case "metadata":
					pruneObjectMeta(child, childPath, pruned)
					continue
				}
			}
			if p, ok := n.props[k]; ok {
				pruneValue(child, p, childPath, false, pruned)
				continue
			}
			if n.additional != nil {
				pruneValue(child, n.additional, childPath, false, pruned)
				continue
			}
			if n.additionalAny || n.preserveUnknown {
				continue
			}
			delete(val, k)
			*pruned = append(*pruned, childPath)
		}
	case []interface{}:
		for i, item := range val {
			pruneValue(item, n.items, path+"["+strconv.Itoa(i)+"]", false, pruned)
		}
	}
}

// pruneObjectMeta drops unknown fields of an object's metadata; the server
// validates the known ones itself.
func pruneObjectMeta(v interface{}, path string, pruned *[]string) {
	m, ok := v.(map[string]interface{})
	if !ok {
		return
	}
	for k := range m {
		if !isObjectMetaField(k) {
			delete(m, k)
			*pruned = append(*pruned, joinPath(path, k))
		}
	}
}

// isObjectMetaField reports whether k is the JSON name of a field of
// metav1.ObjectMeta.
func isObjectMetaField(k string) bool {
	switch k {
	case "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
		"generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
		"labels", "annotations", "ownerReferences", "finalizers", "managedFields":
		return true
	}
	return false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

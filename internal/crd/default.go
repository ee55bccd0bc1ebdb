package crd

import "k8s.io/apimachinery/pkg/runtime"

// Default applies, in place, the schema's default values to fields that are
// absent, recursively (inside defaulted values too, in array items and in
// additionalProperties values). A null in a field that is not nullable is
// replaced by the default or, without one, removed, as kube-apiserver does;
// nulls in nullable fields are kept. Metadata is left to the server. Apply
// it to objects read from storage as well as to requests.
func (s *Schema) Default(obj map[string]interface{}) {
	defaultValue(obj, s.root, true)
}

// HasDefaults reports whether any field of the schema has a default, i.e.
// whether objects read from storage may lack values the schema now gives.
func (s *Schema) HasDefaults() bool { return hasDefaults(s.root) }

func hasDefaults(n *node) bool {
	if n == nil {
		return false
	}
	if n.hasDefault {
		return true
	}
	for _, p := range n.props {
		if hasDefaults(p) {
			return true
		}
	}
	return hasDefaults(n.additional) || hasDefaults(n.items)
}

func defaultValue(v interface{}, n *node, isRoot bool) {
	if n == nil {
		return
	}
	switch val := v.(type) {
	case map[string]interface{}:
		isResource := isRoot || n.embedded
		for k, p := range n.props {
			if isResource && k == "metadata" {
				continue
			}
			fillDefault(val, k, p)
		}
		for k, child := range val {
			if isResource && k == "metadata" {
				continue
			}
			if p, ok := n.props[k]; ok {
				defaultValue(child, p, false)
			} else if n.additional != nil {
				if fillDefault(val, k, n.additional) {
					defaultValue(val[k], n.additional, false)
				}
			}
		}
	case []interface{}:
		if n.items == nil {
			return
		}
		for i, item := range val {
			if item == nil && !n.items.nullable && n.items.hasDefault {
				val[i] = runtime.DeepCopyJSONValue(n.items.def)
			}
			defaultValue(val[i], n.items, false)
		}
	}
}

// fillDefault sets m[k] from p's default when it is absent, or a null p
// does not allow. It reports whether m[k] exists afterwards.
func fillDefault(m map[string]interface{}, k string, p *node) bool {
	cur, present := m[k]
	switch {
	case present && (cur != nil || p.nullable):
		return true
	case p.hasDefault && (p.def != nil || p.nullable):
		m[k] = runtime.DeepCopyJSONValue(p.def)
		return true
	case present:
		delete(m, k) // a null the schema does not allow, and nothing to put instead
	}
	return false
}

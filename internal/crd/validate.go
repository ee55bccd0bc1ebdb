package crd

import (
	"encoding/json"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	openapierrors "k8s.io/kube-openapi/pkg/validation/errors"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// Validate checks obj against the version's openAPIV3Schema and the
// x-kubernetes-embedded-resource rules, returning errors with paths
// relative to the object root ("spec.size") in kube-apiserver's wording.
// It does not validate metadata.name; the server does. Call it after Prune
// and Default.
func (s *Schema) Validate(obj map[string]interface{}) field.ErrorList {
	var errs field.ErrorList
	if res := s.validator.Validate(obj); res != nil && !res.IsValid() {
		errs = append(errs, resultToFieldErrors(nil, res)...)
	}
	errs = append(errs, validateEmbedded(obj, s.root, nil, true)...)
	return errs
}

// resultToFieldErrors converts kube-openapi's errors to field errors under
// base; the validator names values by dotted paths relative to the
// validated value.
func resultToFieldErrors(base *field.Path, res *validate.Result) field.ErrorList {
	var errs field.ErrorList
	for _, e := range res.Errors {
		verr, ok := e.(*openapierrors.Validation)
		if !ok {
			errs = append(errs, field.Invalid(pathOrRoot(base), "", e.Error()))
			continue
		}
		p := base
		if name := strings.TrimPrefix(verr.Name, "."); name != "" {
			if p == nil {
				p = field.NewPath(name)
			} else {
				p = p.Child(name)
			}
		}
		p = pathOrRoot(p)
		value := verr.Value
		if value == nil {
			value = ""
		}
		msg := verr.Error()
		if strings.TrimPrefix(verr.Name, ".") == "" {
			// The validated value itself: drop the empty name.
			msg = strings.TrimPrefix(strings.TrimPrefix(msg, "."), " in body ")
		}
		switch verr.Code() {
		case openapierrors.RequiredFailCode:
			errs = append(errs, field.Required(p, ""))
		case openapierrors.EnumFailCode:
			values := make([]string, 0, len(verr.Values))
			for _, v := range verr.Values {
				if s, ok := v.(string); ok {
					values = append(values, s)
				} else {
					b, _ := json.Marshal(v)
					values = append(values, string(b))
				}
			}
			errs = append(errs, field.NotSupported(p, value, values))
		case openapierrors.TooLongFailCode:
			errs = append(errs, field.TooLong(p, value, asInt(verr.Valid)))
		case openapierrors.MaxItemsFailCode, openapierrors.TooManyPropertiesCode:
			errs = append(errs, field.TooMany(p, asInt(verr.Value), asInt(verr.Valid)))
		case openapierrors.InvalidTypeCode:
			errs = append(errs, field.TypeInvalid(p, value, msg))
		default:
			errs = append(errs, field.Invalid(p, value, msg))
		}
	}
	return errs
}

// pathOrRoot names the object root "<root>" rather than the empty string,
// which would print as a bare colon.
func pathOrRoot(p *field.Path) *field.Path {
	if p == nil {
		return field.NewPath("<root>")
	}
	return p
}

func asInt(v interface{}) int {
	switch n := v.(type) {
	case int64:
		return int(n)
	case int:
		return n
	}
	return -1
}

// validateEmbedded enforces x-kubernetes-embedded-resource: such a value
// must say what it is (apiVersion and kind) and carry object metadata.
func validateEmbedded(v interface{}, n *node, path *field.Path, isRoot bool) field.ErrorList {
	if n == nil {
		return nil
	}
	var errs field.ErrorList
	switch val := v.(type) {
	case map[string]interface{}:
		if n.embedded && !isRoot {
			errs = append(errs, validateTypeMeta(val, path)...)
		}
		for k, child := range val {
			var cn *node
			if p, ok := n.props[k]; ok {
				cn = p
			} else {
				cn = n.additional
			}
			if cn != nil {
				errs = append(errs, validateEmbedded(child, cn, childPath(path, k), false)...)
			}
		}
	case []interface{}:
		if n.items == nil {
			return nil
		}
		for i, item := range val {
			errs = append(errs, validateEmbedded(item, n.items, pathOrRoot(path).Index(i), false)...)
		}
	}
	return errs
}

func validateTypeMeta(m map[string]interface{}, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range []string{"apiVersion", "kind"} {
		switch v := m[k].(type) {
		case nil:
			errs = append(errs, field.Required(childPath(path, k), "must not be empty"))
		case string:
			if v == "" {
				errs = append(errs, field.Required(childPath(path, k), "must not be empty"))
			}
		default:
			errs = append(errs, field.Invalid(childPath(path, k), v, "must be a string"))
		}
	}
	if md, ok := m["metadata"]; ok && md != nil {
		mm, ok := md.(map[string]interface{})
		if !ok {
			errs = append(errs, field.Invalid(childPath(path, "metadata"), md, "must be an object"))
		} else if name, ok := mm["name"]; ok {
			if _, ok := name.(string); !ok {
				errs = append(errs, field.Invalid(childPath(path, "metadata").Child("name"), name, "must be a string"))
			}
		}
	}
	return errs
}

func childPath(p *field.Path, k string) *field.Path {
	if p == nil {
		return field.NewPath(k)
	}
	return p.Child(k)
}

package openapi

import (
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// docVersion is the API version string in the documents' info.
const docVersion = "v1.32.0"

func gvkExtension(gvk schema.GroupVersionKind) map[string]interface{} {
	return map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}

// toV2Schema converts an OpenAPI v3 component schema to Swagger 2.0: $refs
// point into #/definitions, a described reference carries its description
// beside the $ref (kubectl's v2 model parser ignores allOf), and keywords
// Swagger 2.0 does not have (nullable, oneOf, anyOf, not, ...) are dropped.
func toV2Schema(s spec.Schema) spec.Schema {
	if ref := s.Ref.String(); ref != "" {
		s.Ref = spec.MustCreateRef(v2RefPrefix + strings.TrimPrefix(ref, v3RefPrefix))
	}
	if len(s.AllOf) == 1 && s.AllOf[0].Ref.String() != "" && len(s.Type) == 0 && len(s.Properties) == 0 {
		s.Ref = spec.MustCreateRef(v2RefPrefix + strings.TrimPrefix(s.AllOf[0].Ref.String(), v3RefPrefix))
		s.AllOf = nil
	}
	// A kind that says nothing but "any object" (a CRD without a real
	// schema) is published in v2 as a bare object schema, as
	// kube-apiserver does; v3 (and field tracking) keep the extension.
	if _, kind := s.Extensions["x-kubernetes-group-version-kind"]; kind && onlyStandardProperties(s) {
		delete(s.Extensions, extPreserveFields)
	}
	s.Nullable = false
	s.OneOf, s.AnyOf, s.Not = nil, nil, nil
	s.ID, s.Schema, s.Definitions, s.Dependencies = "", "", nil, nil
	s.PatternProperties, s.AdditionalItems, s.ExtraProps = nil, nil, nil
	if len(s.AllOf) > 0 {
		all := make([]spec.Schema, len(s.AllOf))
		for i := range s.AllOf {
			all[i] = toV2Schema(s.AllOf[i])
		}
		s.AllOf = all
	}
	if s.Properties != nil {
		props := make(map[string]spec.Schema, len(s.Properties))
		for k, v := range s.Properties {
			props[k] = toV2Schema(v)
		}
		s.Properties = props
	}
	if s.Items != nil {
		items := &spec.SchemaOrArray{}
		if s.Items.Schema != nil {
			i := toV2Schema(*s.Items.Schema)
			items.Schema = &i
		}
		for _, x := range s.Items.Schemas {
			items.Schemas = append(items.Schemas, toV2Schema(x))
		}
		s.Items = items
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		a := toV2Schema(*s.AdditionalProperties.Schema)
		s.AdditionalProperties = &spec.SchemaOrBool{Allows: true, Schema: &a}
	}
	return s
}

// onlyStandardProperties: no properties but apiVersion, kind and metadata,
// nothing else constraining the object.
func onlyStandardProperties(s spec.Schema) bool {
	for k := range s.Properties {
		if k != "apiVersion" && k != "kind" && k != "metadata" {
			return false
		}
	}
	return s.Description == "" && s.AdditionalProperties == nil && len(s.Required) == 0 && len(s.AllOf) == 0
}

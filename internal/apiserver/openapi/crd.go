package openapi

import (
	"encoding/json"
	"fmt"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// crdDefinitionName names a custom kind as kube-apiserver does: the group
// reversed, then version and kind ("com.example.survey.v1.Widget").
func crdDefinitionName(gvk schema.GroupVersionKind) string {
	parts := strings.Split(gvk.Group, ".")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(append(parts, gvk.Version, gvk.Kind), ".")
}

// convertJSONSchemaProps turns a CRD schema into a kube-openapi schema. Both
// types share the JSON form, so a JSON round trip is exact and keeps every
// x-kubernetes-* extension.
func convertJSONSchemaProps(p *apiextensionsv1.JSONSchemaProps) (spec.Schema, error) {
	var s spec.Schema
	if p == nil {
		return s, nil
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return s, fmt.Errorf("encoding CRD schema: %w", err)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("decoding CRD schema as OpenAPI: %w", err)
	}
	return s, nil
}

// crdKindSchemas returns the kind and list schemas of a custom resource,
// named by crdDefinitionName. The kind schema is the CRD schema with
// apiVersion, kind and metadata (a reference to ObjectMeta) set.
func crdKindSchemas(r *Resource) (kindName string, kind *spec.Schema, listName string, list *spec.Schema, err error) {
	s, err := convertJSONSchemaProps(r.CRDSchema)
	if err != nil {
		return "", nil, "", nil, fmt.Errorf("%s: %w", r.GVK, err)
	}
	if r.CRDSchema == nil || r.PreserveUnknownFields {
		s.AddExtension(extPreserveFields, true)
	}
	s.Type = spec.StringOrArray{"object"}
	props := make(map[string]spec.Schema, len(s.Properties)+3)
	for k, v := range s.Properties {
		props[k] = v
	}
	props["apiVersion"] = stringProp(apiVersionDesc)
	props["kind"] = stringProp(kindDesc)
	props["metadata"] = refProp(defObjectMeta, "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")
	s.Properties = props

	kindName = crdDefinitionName(r.GVK)
	lk := r.listKind()
	listName = crdDefinitionName(r.GVK.GroupVersion().WithKind(lk))
	list = &spec.Schema{SchemaProps: spec.SchemaProps{
		Description: lk + " is a list of " + r.GVK.Kind + ".",
		Type:        spec.StringOrArray{"object"},
		Required:    []string{"items"},
		Properties: map[string]spec.Schema{
			"apiVersion": stringProp(apiVersionDesc),
			"kind":       stringProp(kindDesc),
			"metadata":   refProp(defListMeta, "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"),
			"items": {SchemaProps: spec.SchemaProps{
				Description: "List of " + r.Plural + ".",
				Type:        spec.StringOrArray{"array"},
				Items:       &spec.SchemaOrArray{Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef(v3RefPrefix + kindName)}}},
			}},
		},
	}}
	return kindName, &s, listName, list, nil
}

const (
	apiVersionDesc = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
	kindDesc       = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)

func stringProp(desc string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Description: desc, Type: spec.StringOrArray{"string"}}}
}

// refProp is a described reference, wrapped in allOf as OpenAPI 3.0 needs.
func refProp(def, desc string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{
		Description: desc,
		AllOf:       []spec.Schema{{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef(v3RefPrefix + def)}}},
	}}
}

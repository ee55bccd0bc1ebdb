package crd

import (
	"fmt"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	schemacel "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// Schema is the compiled form of one served version of a CRD. Build it with
// Compile each time the CRD changes; it is immutable afterwards and safe for
// concurrent use by many requests.
type Schema struct {
	version      string
	props        *apiextensionsv1.JSONSchemaProps
	root         *node
	openapi      *spec.Schema
	validator    *validate.SchemaValidator
	subresources *apiextensionsv1.CustomResourceSubresources
	// cel evaluates the x-kubernetes-validations rules (nil: none) on
	// the structural form of the schema.
	cel        *schemacel.Validator
	structural *structuralschema.Structural
	headers    []metav1.TableColumnDefinition
	columns    []*column
}

// node is the part of a schema that pruning and defaulting need, with
// default values decoded once at compile time rather than on every request.
type node struct {
	typ             string
	props           map[string]*node
	additional      *node // schema for keys not listed in props
	additionalAny   bool  // additionalProperties: true without a schema
	items           *node
	preserveUnknown bool
	intOrString     bool
	embedded        bool
	nullable        bool
	hasDefault      bool
	def             interface{}
}

// Compile builds the Schema of the named version of crd. It fails when the
// version does not exist or its schema is missing or cannot be compiled; a
// CRD that passed ValidateCRD compiles for each of its versions.
func Compile(crd *apiextensionsv1.CustomResourceDefinition, version string) (*Schema, error) {
	if crd == nil {
		return nil, fmt.Errorf("crd: nil CustomResourceDefinition")
	}
	var v *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Name == version {
			v = &crd.Spec.Versions[i]
			break
		}
	}
	if v == nil {
		return nil, fmt.Errorf("crd %s: version %q not found", crd.Name, version)
	}
	if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("crd %s: version %q has no openAPIV3Schema", crd.Name, version)
	}
	props := v.Schema.OpenAPIV3Schema.DeepCopy()
	root, err := compileNode(props)
	if err != nil {
		return nil, fmt.Errorf("crd %s version %s: %w", crd.Name, version, err)
	}
	openapi, err := toOpenAPI(props)
	if err != nil {
		return nil, fmt.Errorf("crd %s version %s: %w", crd.Name, version, err)
	}
	s := &Schema{
		version:   version,
		props:     props,
		root:      root,
		openapi:   openapi,
		validator: validate.NewSchemaValidator(openapi, nil, "", strfmt.Default),
	}
	if s.cel, s.structural, err = compileCEL(props); err != nil {
		return nil, fmt.Errorf("crd %s version %s: %w", crd.Name, version, err)
	}
	if v.Subresources != nil {
		s.subresources = v.Subresources.DeepCopy()
	}
	if err := s.buildColumns(v.AdditionalPrinterColumns); err != nil {
		return nil, fmt.Errorf("crd %s version %s: %w", crd.Name, version, err)
	}
	return s, nil
}

// Version is the name of the version this Schema was compiled for.
func (s *Schema) Version() string { return s.version }

// StatusEnabled reports whether the version has the status subresource, in
// which case writes to the main resource ignore .status and writes to
// /status change only .status.
func (s *Schema) StatusEnabled() bool {
	return s.subresources != nil && s.subresources.Status != nil
}

// Scale returns the scale subresource paths, or nil when the version has no
// scale subresource. The result is shared: do not modify it.
func (s *Schema) Scale() *apiextensionsv1.CustomResourceSubresourceScale {
	if s.subresources == nil {
		return nil
	}
	return s.subresources.Scale
}

// OpenAPISchema returns the version's openAPIV3Schema for the OpenAPI
// document builder. The result is shared: do not modify it.
func (s *Schema) OpenAPISchema() *apiextensionsv1.JSONSchemaProps { return s.props }

// compileNode turns the structural part of a schema into a node tree.
func compileNode(p *apiextensionsv1.JSONSchemaProps) (*node, error) {
	if p == nil {
		return nil, nil
	}
	n := &node{
		typ:             p.Type,
		preserveUnknown: p.XPreserveUnknownFields != nil && *p.XPreserveUnknownFields,
		intOrString:     p.XIntOrString,
		embedded:        p.XEmbeddedResource,
		nullable:        p.Nullable,
	}
	if p.Default != nil {
		v, err := decodeJSON(p.Default.Raw)
		if err != nil {
			return nil, fmt.Errorf("invalid default: %w", err)
		}
		n.hasDefault, n.def = true, v
	}
	if len(p.Properties) > 0 {
		n.props = make(map[string]*node, len(p.Properties))
		for k := range p.Properties {
			child := p.Properties[k]
			c, err := compileNode(&child)
			if err != nil {
				return nil, fmt.Errorf("properties[%s]: %w", k, err)
			}
			n.props[k] = c
		}
	}
	if ap := p.AdditionalProperties; ap != nil {
		if ap.Schema != nil {
			c, err := compileNode(ap.Schema)
			if err != nil {
				return nil, fmt.Errorf("additionalProperties: %w", err)
			}
			n.additional = c
		} else if ap.Allows {
			n.additionalAny = true
		}
	}
	if p.Items != nil && p.Items.Schema != nil {
		c, err := compileNode(p.Items.Schema)
		if err != nil {
			return nil, fmt.Errorf("items: %w", err)
		}
		n.items = c
	}
	return n, nil
}

// decodeJSON decodes raw JSON the way unstructured objects are decoded
// (integers as int64), so that defaults compare and serialize like
// request data.
func decodeJSON(raw []byte) (interface{}, error) {
	var v interface{}
	if err := utiljson.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// supportedFormat reports whether kube-apiserver validates a string format.
// Other formats are documentation only and must not reject values.
func supportedFormat(f string) bool {
	switch f {
	case "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac",
		"uuid", "uuid3", "uuid4", "uuid5", "isbn", "isbn10", "isbn13", "creditcard",
		"ssn", "hexcolor", "rgbcolor", "byte", "password", "date", "duration", "datetime",
		"date-time", "int32", "int64", "float", "double", "k8s-short-name", "k8s-long-name":
		return true
	}
	return false
}

// toOpenAPI converts a CRD schema to the kube-openapi form the validator
// understands. Kubernetes extensions that affect validation are mapped to
// plain JSON-schema (int-or-string becomes a two-type union); the rest are
// kept as vendor extensions for reference.
func toOpenAPI(p *apiextensionsv1.JSONSchemaProps) (*spec.Schema, error) {
	if p == nil {
		return nil, nil
	}
	if p.Ref != nil {
		return nil, fmt.Errorf("$ref is not supported")
	}
	out := &spec.Schema{}
	out.Description = p.Description
	out.Title = p.Title
	if p.Type != "" {
		out.Type = spec.StringOrArray{p.Type}
	}
	if p.XIntOrString {
		out.Type = spec.StringOrArray{"integer", "string"}
		out.AddExtension("x-kubernetes-int-or-string", true)
	}
	if supportedFormat(p.Format) {
		out.Format = p.Format
	}
	out.Nullable = p.Nullable
	out.Maximum, out.ExclusiveMaximum = p.Maximum, p.ExclusiveMaximum
	out.Minimum, out.ExclusiveMinimum = p.Minimum, p.ExclusiveMinimum
	out.MaxLength, out.MinLength, out.Pattern = p.MaxLength, p.MinLength, p.Pattern
	out.MaxItems, out.MinItems, out.UniqueItems = p.MaxItems, p.MinItems, p.UniqueItems
	out.MultipleOf = p.MultipleOf
	out.MaxProperties, out.MinProperties = p.MaxProperties, p.MinProperties
	out.Required = append([]string(nil), p.Required...)
	for i, e := range p.Enum {
		v, err := decodeJSON(e.Raw)
		if err != nil {
			return nil, fmt.Errorf("enum[%d]: %w", i, err)
		}
		out.Enum = append(out.Enum, v)
	}
	if p.XPreserveUnknownFields != nil && *p.XPreserveUnknownFields {
		out.AddExtension("x-kubernetes-preserve-unknown-fields", true)
	}
	if p.XEmbeddedResource {
		out.AddExtension("x-kubernetes-embedded-resource", true)
	}
	var err error
	if out.AllOf, err = toOpenAPIList(p.AllOf, "allOf"); err != nil {
		return nil, err
	}
	if out.AnyOf, err = toOpenAPIList(p.AnyOf, "anyOf"); err != nil {
		return nil, err
	}
	if out.OneOf, err = toOpenAPIList(p.OneOf, "oneOf"); err != nil {
		return nil, err
	}
	if p.Not != nil {
		if out.Not, err = toOpenAPI(p.Not); err != nil {
			return nil, fmt.Errorf("not: %w", err)
		}
	}
	if len(p.Properties) > 0 {
		out.Properties = make(map[string]spec.Schema, len(p.Properties))
		for k := range p.Properties {
			child := p.Properties[k]
			c, err := toOpenAPI(&child)
			if err != nil {
				return nil, fmt.Errorf("properties[%s]: %w", k, err)
			}
			out.Properties[k] = *c
		}
	}
	if ap := p.AdditionalProperties; ap != nil {
		out.AdditionalProperties = &spec.SchemaOrBool{Allows: ap.Allows || ap.Schema != nil}
		if ap.Schema != nil {
			if out.AdditionalProperties.Schema, err = toOpenAPI(ap.Schema); err != nil {
				return nil, fmt.Errorf("additionalProperties: %w", err)
			}
		}
	}
	if p.Items != nil {
		out.Items = &spec.SchemaOrArray{}
		if p.Items.Schema != nil {
			if out.Items.Schema, err = toOpenAPI(p.Items.Schema); err != nil {
				return nil, fmt.Errorf("items: %w", err)
			}
		}
		for i := range p.Items.JSONSchemas {
			c, err := toOpenAPI(&p.Items.JSONSchemas[i])
			if err != nil {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			out.Items.Schemas = append(out.Items.Schemas, *c)
		}
	}
	return out, nil
}

func toOpenAPIList(in []apiextensionsv1.JSONSchemaProps, name string) ([]spec.Schema, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]spec.Schema, 0, len(in))
	for i := range in {
		c, err := toOpenAPI(&in[i])
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", name, i, err)
		}
		out = append(out, *c)
	}
	return out, nil
}

package openapi

import (
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// docVersion is the API version string in the documents' info.
const docVersion = "v1.32.0"

func gvkExtension(gvk schema.GroupVersionKind) map[string]interface{} {
	return map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}

func refSchema(prefix, def string) *spec.Schema {
	return &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef(prefix + def)}}
}

// renderV3 assembles the OpenAPI 3.0 document of one group-version.
func renderV3(title string, schemas map[string]*spec.Schema, items []pathItem) *spec3.OpenAPI {
	paths := &spec3.Paths{Paths: make(map[string]*spec3.Path, len(items))}
	for _, it := range items {
		p := &spec3.Path{}
		p.Parameters = v3Params(it.params)
		for _, o := range it.ops {
			op := v3Operation(o)
			switch o.method {
			case "get":
				p.Get = op
			case "put":
				p.Put = op
			case "post":
				p.Post = op
			case "delete":
				p.Delete = op
			case "patch":
				p.Patch = op
			}
		}
		paths.Paths[it.path] = p
	}
	return &spec3.OpenAPI{
		Version:    "3.0.0",
		Info:       &spec.Info{InfoProps: spec.InfoProps{Title: title, Version: docVersion}},
		Paths:      paths,
		Components: &spec3.Components{Schemas: schemas},
	}
}

func v3Params(ps []param) []*spec3.Parameter {
	out := make([]*spec3.Parameter, 0, len(ps))
	for _, p := range ps {
		out = append(out, &spec3.Parameter{ParameterProps: spec3.ParameterProps{
			Name: p.name, In: p.in, Description: p.desc, Required: p.required,
			Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{p.typ}, UniqueItems: p.unique}},
		}})
	}
	return out
}

func v3Operation(o operation) *spec3.Operation {
	op := &spec3.Operation{OperationProps: spec3.OperationProps{
		Tags: []string{o.tag}, Description: o.desc, OperationId: o.id, Deprecated: o.deprecated,
		Parameters: v3Params(o.query),
	}}
	op.AddExtension(extAction, o.action)
	op.AddExtension(extGVK, gvkExtension(o.gvk))
	if o.body != "" {
		types := o.patchTypes
		if len(types) == 0 {
			types = []string{"*/*"}
		}
		content := make(map[string]*spec3.MediaType, len(types))
		for _, t := range types {
			content[t] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: refSchema(v3RefPrefix, o.body)}}
		}
		op.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Content: content, Required: o.bodyReq}}
	}
	codes := map[int]*spec3.Response{401: {ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}}}
	for _, r := range o.responses {
		content := make(map[string]*spec3.MediaType, len(o.produces))
		for _, t := range o.produces {
			content[t] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: refSchema(v3RefPrefix, r.def)}}
		}
		codes[r.code] = &spec3.Response{ResponseProps: spec3.ResponseProps{Description: statusText(r.code), Content: content}}
	}
	op.Responses = &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: codes}}
	return op
}

func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	}
	return "Unauthorized"
}

// renderV2 assembles the Swagger 2.0 document of everything served.
func renderV2(defs map[string]*spec.Schema, items []pathItem) *spec.Swagger {
	paths := &spec.Paths{Paths: make(map[string]spec.PathItem, len(items))}
	for _, it := range items {
		var p spec.PathItem
		p.Parameters = v2Params(it.params)
		for _, o := range it.ops {
			op := v2Operation(o)
			switch o.method {
			case "get":
				p.Get = op
			case "put":
				p.Put = op
			case "post":
				p.Post = op
			case "delete":
				p.Delete = op
			case "patch":
				p.Patch = op
			}
		}
		paths.Paths[it.path] = p
	}
	d := make(spec.Definitions, len(defs))
	for name, s := range defs {
		d[name] = toV2Schema(*s)
	}
	return &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: docVersion}},
		Paths:       paths,
		Definitions: d,
		SecurityDefinitions: spec.SecurityDefinitions{"BearerToken": &spec.SecurityScheme{SecuritySchemeProps: spec.SecuritySchemeProps{
			Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
		}}},
		Security: []map[string][]string{{"BearerToken": {}}},
	}}
}

func v2Params(ps []param) []spec.Parameter {
	out := make([]spec.Parameter, 0, len(ps))
	for _, p := range ps {
		var sp spec.Parameter
		sp.Name, sp.In, sp.Description, sp.Required = p.name, p.in, p.desc, p.required
		sp.Type = p.typ
		sp.UniqueItems = p.unique
		out = append(out, sp)
	}
	return out
}

func v2Operation(o operation) *spec.Operation {
	op := &spec.Operation{OperationProps: spec.OperationProps{
		Tags: []string{o.tag}, Description: o.desc, ID: o.id, Deprecated: o.deprecated,
		Produces: o.produces, Schemes: []string{"https"}, Parameters: v2Params(o.query),
	}}
	op.AddExtension(extAction, o.action)
	op.AddExtension(extGVK, gvkExtension(o.gvk))
	if o.body != "" {
		op.Consumes = o.patchTypes
		if len(op.Consumes) == 0 {
			op.Consumes = []string{"*/*"}
		}
		var body spec.Parameter
		body.Name, body.In, body.Required, body.Schema = "body", "body", o.bodyReq, refSchema(v2RefPrefix, o.body)
		op.Parameters = append([]spec.Parameter{body}, op.Parameters...)
	} else {
		op.Consumes = []string{"*/*"}
	}
	codes := map[int]spec.Response{401: {ResponseProps: spec.ResponseProps{Description: "Unauthorized"}}}
	for _, r := range o.responses {
		codes[r.code] = spec.Response{ResponseProps: spec.ResponseProps{Description: statusText(r.code), Schema: refSchema(v2RefPrefix, r.def)}}
	}
	op.Responses = &spec.Responses{ResponsesProps: spec.ResponsesProps{StatusCodeResponses: codes}}
	return op
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

package crd

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// level is where a schema node sits; some rules and messages depend on it.
type level int

const (
	rootLevel level = iota
	fieldLevel
	itemLevel
)

// schemaCtx carries what a node inherits from its ancestors.
type schemaCtx struct {
	lvl level
	// noDefaults says why defaults are forbidden here ("" = allowed).
	noDefaults string
	// insideMeta is true within the schema of a resource's metadata.
	insideMeta bool
}

// validateSchema checks a version's openAPIV3Schema: the OpenAPI subset
// Kubernetes accepts, the structural-schema rules, Kubernetes extensions,
// and that defaults validate and survive pruning.
func validateSchema(s *apiextensionsv1.JSONSchemaProps, p *field.Path, statusEnabled bool) field.ErrorList {
	var errs field.ErrorList
	if s.Nullable {
		errs = append(errs, field.Forbidden(p.Child("nullable"), "nullable cannot be true at the root"))
	}
	if statusEnabled {
		// The status subresource splits the schema at properties[status];
		// anything that constrains the root as a whole cannot be split.
		if s.Type != "" && s.Type != "object" {
			errs = append(errs, field.Invalid(p.Child("type"), s.Type, `only "object" is allowed as the type at the root of the schema if the status subresource is enabled`))
		}
		if s.Default != nil || len(s.Enum) > 0 || len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.OneOf) > 0 ||
			s.Not != nil || s.XEmbeddedResource || s.XIntOrString || s.XListType != nil || s.XMapType != nil ||
			s.MinProperties != nil || s.MaxProperties != nil {
			errs = append(errs, field.Forbidden(p, "only description, type, format, title, maximum, exclusiveMaximum, minimum, exclusiveMinimum, maxLength, minLength, pattern, maxItems, minItems, uniqueItems, multipleOf, required, items, properties, externalDocs, example, x-kubernetes-preserve-unknown-fields and x-kubernetes-validations are allowed at the root of the schema if the status subresource is enabled"))
		}
	}
	errs = append(errs, validateNode(s, p, schemaCtx{lvl: rootLevel, noDefaults: "at the root"})...)
	return errs
}

// validateNode checks one node and recurses into properties, items and
// additionalProperties; value validations (allOf, anyOf, oneOf, not) are
// checked by validateJunctor.
func validateNode(s *apiextensionsv1.JSONSchemaProps, p *field.Path, ctx schemaCtx) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateUnsupported(s, p)...)

	if s.Type != "" && !contains(schemaTypes(), s.Type) {
		if s.Type == "null" {
			errs = append(errs, field.Forbidden(p.Child("type"), "type cannot be set to null, use nullable as an alternative"))
		} else {
			errs = append(errs, field.NotSupported(p.Child("type"), s.Type, schemaTypes()))
		}
	}
	preserve := s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields
	if s.XPreserveUnknownFields != nil && !*s.XPreserveUnknownFields {
		errs = append(errs, field.Invalid(p.Child("x-kubernetes-preserve-unknown-fields"), false, "must be true or undefined"))
	}

	// Structural: every node says what type it is.
	switch {
	case s.XEmbeddedResource && s.Type == "":
		errs = append(errs, field.Required(p.Child("type"), "must be object if x-kubernetes-embedded-resource is true"))
	case s.XEmbeddedResource && s.Type != "object":
		errs = append(errs, field.Invalid(p.Child("type"), s.Type, "must be object if x-kubernetes-embedded-resource is true"))
	case s.Type == "" && !s.XIntOrString && !preserve:
		msg := map[level]string{
			rootLevel:  "must not be empty at the root",
			fieldLevel: "must not be empty for specified object fields",
			itemLevel:  "must not be empty for specified array items",
		}[ctx.lvl]
		errs = append(errs, field.Required(p.Child("type"), msg))
	}
	if ctx.lvl == rootLevel && s.Type != "" && s.Type != "object" {
		errs = append(errs, field.Invalid(p.Child("type"), s.Type, "must be object at the root"))
	}
	if s.XIntOrString {
		if preserve {
			errs = append(errs, field.Invalid(p.Child("x-kubernetes-preserve-unknown-fields"), true, "must be false if x-kubernetes-int-or-string is true"))
		}
		if s.XEmbeddedResource {
			errs = append(errs, field.Invalid(p.Child("x-kubernetes-embedded-resource"), true, "must be false if x-kubernetes-int-or-string is true"))
		}
		if s.Type != "" {
			errs = append(errs, field.Invalid(p.Child("type"), s.Type, "must be empty if x-kubernetes-int-or-string is true"))
		}
	}
	if s.XEmbeddedResource && !preserve && len(s.Properties) == 0 {
		errs = append(errs, field.Required(p.Child("properties"), "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"))
	}

	if s.UniqueItems {
		errs = append(errs, field.Forbidden(p.Child("uniqueItems"), "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
	}
	if s.Pattern != "" {
		if _, err := regexp.Compile(s.Pattern); err != nil {
			errs = append(errs, field.Invalid(p.Child("pattern"), s.Pattern, fmt.Sprintf("must be a valid regular expression, but isn't: %v", err)))
		}
	}
	errs = append(errs, validateListAndMapTypes(s, p)...)

	// additionalProperties: a map, never together with a struct's
	// properties, and never at a resource root.
	if ap := s.AdditionalProperties; ap != nil {
		if ctx.lvl == rootLevel || s.XEmbeddedResource {
			what := "at the root"
			if ctx.lvl != rootLevel {
				what = "if x-kubernetes-embedded-resource is set"
			}
			errs = append(errs, field.Forbidden(p.Child("additionalProperties"), "must not be used "+what))
		} else if len(s.Properties) > 0 && (!ap.Allows || ap.Schema != nil) {
			errs = append(errs, field.Forbidden(p.Child("additionalProperties"), "additionalProperties and properties are mutual exclusive"))
		}
		if ap.Schema != nil {
			errs = append(errs, validateNode(ap.Schema, p.Child("additionalProperties"), schemaCtx{lvl: fieldLevel, noDefaults: ctx.noDefaultsInMeta(), insideMeta: ctx.insideMeta})...)
		}
	}

	if s.Type == "array" && (s.Items == nil || s.Items.Schema == nil) && (s.Items == nil || len(s.Items.JSONSchemas) == 0) {
		errs = append(errs, field.Required(p.Child("items"), "must be specified"))
	}
	if s.Items != nil {
		if len(s.Items.JSONSchemas) > 0 {
			errs = append(errs, field.Forbidden(p.Child("items"), "items must be a schema object and not an array"))
		}
		if s.Items.Schema != nil {
			errs = append(errs, validateNode(s.Items.Schema, p.Child("items"), schemaCtx{lvl: itemLevel, noDefaults: ctx.noDefaultsBelow(), insideMeta: ctx.insideMeta})...)
		}
	}

	resourceRoot := ctx.lvl == rootLevel || s.XEmbeddedResource
	for _, k := range sortedKeys(s.Properties) {
		child := s.Properties[k]
		cp := p.Child("properties").Key(k)
		cctx := schemaCtx{lvl: fieldLevel, noDefaults: ctx.noDefaultsBelow(), insideMeta: ctx.insideMeta}
		if resourceRoot {
			switch k {
			case "apiVersion", "kind":
				if child.Type != "string" {
					errs = append(errs, field.Invalid(cp.Child("type"), child.Type, "must be string"))
				}
			case "metadata":
				errs = append(errs, validateMetadataSchema(&child, cp, ctx.lvl == rootLevel)...)
				cctx.insideMeta = true
			}
			if ctx.lvl == rootLevel && (k == "apiVersion" || k == "kind" || k == "metadata") {
				cctx.noDefaults = "in top-level " + k
			}
		}
		errs = append(errs, validateNode(&child, cp, cctx)...)
	}

	if s.Default != nil {
		if ctx.noDefaults != "" {
			errs = append(errs, field.Forbidden(p.Child("default"), "must not be set "+ctx.noDefaults))
		} else {
			errs = append(errs, validateDefault(s, p.Child("default"))...)
		}
	}

	errs = append(errs, validateJunctors(s, p)...)
	return errs
}

// noDefaultsBelow is the defaulting rule children inherit: forbidden stays
// forbidden, except that the root's own ban does not extend to its fields.
func (c schemaCtx) noDefaultsBelow() string {
	if c.lvl == rootLevel && c.noDefaults == "at the root" {
		return ""
	}
	return c.noDefaults
}

// noDefaultsInMeta forbids defaults in maps inside ObjectMeta (labels,
// annotations): pruning them would be ambiguous.
func (c schemaCtx) noDefaultsInMeta() string {
	if c.insideMeta {
		return "inside additionalProperties applying to object metadata"
	}
	return c.noDefaultsBelow()
}

// validateUnsupported rejects JSON-schema features Kubernetes does not
// serve.
func validateUnsupported(s *apiextensionsv1.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	forbid := func(set bool, name string) {
		if set {
			errs = append(errs, field.Forbidden(p.Child(name), name+" is not supported"))
		}
	}
	forbid(s.ID != "", "id")
	forbid(s.Ref != nil, "$ref")
	forbid(len(s.Definitions) > 0, "definitions")
	forbid(len(s.Dependencies) > 0, "dependencies")
	forbid(len(s.PatternProperties) > 0, "patternProperties")
	forbid(s.AdditionalItems != nil, "additionalItems")
	return errs
}

// validateMetadataSchema allows a root schema to restrict only
// metadata.name and metadata.generateName (as strings): the server owns
// the rest of ObjectMeta.
func validateMetadataSchema(s *apiextensionsv1.JSONSchemaProps, p *field.Path, root bool) field.ErrorList {
	var errs field.ErrorList
	if s.Type != "object" {
		errs = append(errs, field.Invalid(p.Child("type"), s.Type, "must be object"))
	}
	if !root {
		return errs
	}
	rest := s.DeepCopy()
	rest.Type, rest.Description, rest.Default = "", "", nil
	for k, v := range rest.Properties {
		if (k == "name" || k == "generateName") && v.Type == "string" {
			delete(rest.Properties, k)
		}
	}
	if len(rest.Properties) == 0 {
		rest.Properties = nil
	}
	if !reflect.DeepEqual(*rest, apiextensionsv1.JSONSchemaProps{}) {
		errs = append(errs, field.Forbidden(p, "must not specify anything other than name and generateName, but metadata is implicitly specified"))
	}
	return errs
}

func validateListAndMapTypes(s *apiextensionsv1.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.XMapType != nil {
		if s.Type != "object" {
			errs = append(errs, field.Invalid(p.Child("type"), s.Type, "must be object if x-kubernetes-map-type is specified"))
		}
		if !contains(mapTypes(), *s.XMapType) {
			errs = append(errs, field.NotSupported(p.Child("x-kubernetes-map-type"), *s.XMapType, mapTypes()))
		}
	}
	if s.XListType != nil {
		if s.Type != "array" {
			errs = append(errs, field.Invalid(p.Child("type"), s.Type, "must be array if x-kubernetes-list-type is specified"))
		}
		if !contains(listTypes(), *s.XListType) {
			errs = append(errs, field.NotSupported(p.Child("x-kubernetes-list-type"), *s.XListType, listTypes()))
		}
	}
	isMap := s.XListType != nil && *s.XListType == "map"
	switch {
	case len(s.XListMapKeys) > 0 && !isMap:
		errs = append(errs, field.Required(p.Child("x-kubernetes-list-type"), "must be map if x-kubernetes-list-map-keys is non-empty"))
	case isMap && len(s.XListMapKeys) == 0:
		errs = append(errs, field.Required(p.Child("x-kubernetes-list-map-keys"), "must not be empty if x-kubernetes-list-type is map"))
	case isMap && (s.Items == nil || s.Items.Schema == nil):
		errs = append(errs, field.Required(p.Child("items"), "must have a schema if x-kubernetes-list-type is map"))
	case isMap:
		item := s.Items.Schema
		if item.Type != "object" {
			errs = append(errs, field.Invalid(p.Child("items", "type"), item.Type, "must be object when x-kubernetes-list-type is map"))
		}
		for i, k := range s.XListMapKeys {
			ks, ok := item.Properties[k]
			if !ok {
				errs = append(errs, field.Invalid(p.Child("x-kubernetes-list-map-keys").Index(i), k, "entries must all be names of item properties"))
				continue
			}
			if ks.Type != "string" && ks.Type != "integer" && ks.Type != "boolean" && !ks.XIntOrString {
				errs = append(errs, field.Invalid(p.Child("items", "properties").Key(k).Child("type"), ks.Type, "must be a scalar type if used as x-kubernetes-list-map-keys"))
			}
		}
	}
	if s.XListType != nil && *s.XListType == "set" && s.Items != nil && s.Items.Schema != nil {
		if t := s.Items.Schema.Type; t == "object" || t == "array" {
			if s.Items.Schema.XMapType == nil || *s.Items.Schema.XMapType != "atomic" || t == "array" {
				errs = append(errs, field.Invalid(p.Child("items", "type"), t, "must be a scalar type or atomic if x-kubernetes-list-type is set"))
			}
		}
	}
	return errs
}

// validateJunctors applies the structural rules to allOf, anyOf, oneOf and
// not: they may only add value validations to fields already specified
// outside them. The two int-or-string spellings are the exception.
func validateJunctors(s *apiextensionsv1.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	skipAnyOf := isIntOrStringAnyOf(s.AnyOf)
	skipFirstAllOfAnyOf := len(s.AllOf) > 0 && isIntOrStringAnyOf(s.AllOf[0].AnyOf)
	for i := range s.AllOf {
		errs = append(errs, validateNested(&s.AllOf[i], s, p.Child("allOf").Index(i), p, i == 0 && skipFirstAllOfAnyOf)...)
	}
	if !skipAnyOf {
		for i := range s.AnyOf {
			errs = append(errs, validateNested(&s.AnyOf[i], s, p.Child("anyOf").Index(i), p, false)...)
		}
	}
	for i := range s.OneOf {
		errs = append(errs, validateNested(&s.OneOf[i], s, p.Child("oneOf").Index(i), p, false)...)
	}
	if s.Not != nil {
		errs = append(errs, validateNested(s.Not, s, p.Child("not"), p, false)...)
	}
	return errs
}

func isIntOrStringAnyOf(list []apiextensionsv1.JSONSchemaProps) bool {
	return len(list) == 2 &&
		reflect.DeepEqual(list[0], apiextensionsv1.JSONSchemaProps{Type: "integer"}) &&
		reflect.DeepEqual(list[1], apiextensionsv1.JSONSchemaProps{Type: "string"})
}

// validateNested checks a schema inside a junctor against outer, the
// schema that applies at the same place outside value validations
// (nil when nothing is specified there).
func validateNested(v, outer *apiextensionsv1.JSONSchemaProps, p, outerPath *field.Path, skipAnyOf bool) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateUnsupported(v, p)...)
	forbid := func(set bool, name, msg string) {
		if set {
			errs = append(errs, field.Forbidden(p.Child(name), msg))
		}
	}
	forbid(v.Type != "", "type", "must be empty to be structural")
	forbid(v.AdditionalProperties != nil, "additionalProperties", "must be undefined to be structural")
	forbid(v.Default != nil, "default", "must be undefined to be structural")
	forbid(v.Title != "", "title", "must be empty to be structural")
	forbid(v.Description != "", "description", "must be empty to be structural")
	forbid(v.Nullable, "nullable", "must be false to be structural")
	forbid(v.XPreserveUnknownFields != nil, "x-kubernetes-preserve-unknown-fields", "must be false to be structural")
	forbid(v.XEmbeddedResource, "x-kubernetes-embedded-resource", "must be false to be structural")
	forbid(v.XIntOrString, "x-kubernetes-int-or-string", "must be false to be structural")
	forbid(len(v.XListMapKeys) > 0, "x-kubernetes-list-map-keys", "must be empty to be structural")
	forbid(v.XListType != nil, "x-kubernetes-list-type", "must be undefined to be structural")
	forbid(v.XMapType != nil, "x-kubernetes-map-type", "must be undefined to be structural")
	forbid(len(v.XValidations) > 0, "x-kubernetes-validations", "must be empty to be structural")
	if v.Pattern != "" {
		if _, err := regexp.Compile(v.Pattern); err != nil {
			errs = append(errs, field.Invalid(p.Child("pattern"), v.Pattern, fmt.Sprintf("must be a valid regular expression, but isn't: %v", err)))
		}
	}

	// Completeness: whatever a junctor constrains must exist outside it.
	for _, k := range sortedKeys(v.Properties) {
		child := v.Properties[k]
		var outerChild *apiextensionsv1.JSONSchemaProps
		if outer != nil {
			if oc, ok := outer.Properties[k]; ok {
				outerChild = &oc
			}
		}
		if outerChild == nil {
			errs = append(errs, field.Required(outerPath.Child("properties").Key(k), "because it is defined in "+p.Child("properties").Key(k).String()))
		}
		errs = append(errs, validateNested(&child, outerChild, p.Child("properties").Key(k), outerPath.Child("properties").Key(k), false)...)
	}
	if v.Items != nil {
		if len(v.Items.JSONSchemas) > 0 {
			errs = append(errs, field.Forbidden(p.Child("items"), "items must be a schema object and not an array"))
		}
		if v.Items.Schema != nil {
			var outerItems *apiextensionsv1.JSONSchemaProps
			if outer != nil && outer.Items != nil {
				outerItems = outer.Items.Schema
			}
			if outerItems == nil {
				errs = append(errs, field.Required(outerPath.Child("items"), "because it is defined in "+p.Child("items").String()))
			}
			errs = append(errs, validateNested(v.Items.Schema, outerItems, p.Child("items"), outerPath.Child("items"), false)...)
		}
	}
	for i := range v.AllOf {
		errs = append(errs, validateNested(&v.AllOf[i], outer, p.Child("allOf").Index(i), outerPath, false)...)
	}
	if !skipAnyOf {
		for i := range v.AnyOf {
			errs = append(errs, validateNested(&v.AnyOf[i], outer, p.Child("anyOf").Index(i), outerPath, false)...)
		}
	}
	for i := range v.OneOf {
		errs = append(errs, validateNested(&v.OneOf[i], outer, p.Child("oneOf").Index(i), outerPath, false)...)
	}
	if v.Not != nil {
		errs = append(errs, validateNested(v.Not, outer, p.Child("not"), outerPath, false)...)
	}
	return errs
}

// validateDefault checks that a default is valid for its own schema and
// that pruning would not change it: a default the server would strip
// again on write is a bug in the CRD.
func validateDefault(s *apiextensionsv1.JSONSchemaProps, p *field.Path) field.ErrorList {
	value, err := decodeJSON(s.Default.Raw)
	if err != nil {
		return field.ErrorList{field.Invalid(p, string(s.Default.Raw), "must be valid JSON: "+err.Error())}
	}
	if value == nil && !s.Nullable {
		return field.ErrorList{field.Invalid(p, "null", "must not be null for a field that is not nullable")}
	}
	openapi, err := toOpenAPI(s)
	if err != nil {
		return field.ErrorList{field.Invalid(p, string(s.Default.Raw), err.Error())}
	}
	var errs field.ErrorList
	if res := validate.NewSchemaValidator(openapi, nil, "", strfmt.Default).Validate(value); !res.IsValid() {
		errs = append(errs, resultToFieldErrors(p, res)...)
	}
	n, err := compileNode(s)
	if err != nil {
		return append(errs, field.Invalid(p, string(s.Default.Raw), err.Error()))
	}
	if pruned := pruneDefault(value, n); len(pruned) > 0 {
		errs = append(errs, field.Invalid(p, string(s.Default.Raw), "must not have unknown fields: "+strings.Join(pruned, ", ")))
	}
	return errs
}

// pruneDefault prunes a copy of a default value and reports what went.
func pruneDefault(v interface{}, n *node) []string {
	var pruned []string
	pruneValue(v, n, "", false, &pruned)
	return pruned
}

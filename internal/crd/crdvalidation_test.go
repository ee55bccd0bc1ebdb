package crd

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func errText(errs field.ErrorList) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error())
		b.WriteString("\n")
	}
	return b.String()
}

func TestValidateCRDAcceptsValid(t *testing.T) {
	crd := mustCRD(t, widgetCRD)
	if errs := ValidateCRD(crd); len(errs) > 0 {
		t.Fatalf("valid CRD rejected:\n%s", errText(errs))
	}
	if crd.Spec.Names.Singular != "widget" || crd.Spec.Names.ListKind != "WidgetList" || crd.Spec.Conversion.Strategy != apiextensionsv1.NoneConverter {
		t.Fatalf("defaults not applied: %+v %+v", crd.Spec.Names, crd.Spec.Conversion)
	}
}

func TestValidateCRDRules(t *testing.T) {
	v0 := func(c *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinitionVersion {
		return &c.Spec.Versions[0]
	}
	root := func(c *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.JSONSchemaProps {
		return v0(c).Schema.OpenAPIV3Schema
	}
	spec := func(c *apiextensionsv1.CustomResourceDefinition) apiextensionsv1.JSONSchemaProps {
		return root(c).Properties["spec"]
	}
	setSpec := func(c *apiextensionsv1.CustomResourceDefinition, s apiextensionsv1.JSONSchemaProps) {
		root(c).Properties["spec"] = s
	}
	const sp = "spec.versions[0].schema.openAPIV3Schema"
	tests := []struct {
		name   string
		mutate func(c *apiextensionsv1.CustomResourceDefinition)
		want   string
	}{
		{"name mismatch", func(c *apiextensionsv1.CustomResourceDefinition) { c.Name = "gadgets.example.com" },
			`metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group`},
		{"group without dot", func(c *apiextensionsv1.CustomResourceDefinition) {
			c.Spec.Group = "example"
			c.Name = "widgets.example"
		},
			`spec.group: Invalid value: "example": should be a domain with at least one dot`},
		{"group missing", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Group = "" },
			`spec.group: Required value`},
		{"bad scope", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Scope = "Global" },
			`spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"`},
		{"plural uppercase", func(c *apiextensionsv1.CustomResourceDefinition) {
			c.Spec.Names.Plural = "Widgets"
			c.Name = "Widgets.example.com"
		},
			`spec.names.plural: Invalid value: "Widgets"`},
		{"singular missing", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Names.Singular = "" },
			`spec.names.singular: Required value`},
		{"kind bad", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Names.Kind = "Wid_get" },
			`spec.names.kind: Invalid value: "Wid_get": may have mixed case`},
		{"kind equals listKind", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Names.ListKind = "Widget" },
			`spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same`},
		{"bad short name", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Names.ShortNames = []string{"w_d"} },
			`spec.names.shortNames[0]: Invalid value: "w_d"`},
		{"no versions", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Versions = nil },
			`spec.versions: Required value`},
		{"no storage version", func(c *apiextensionsv1.CustomResourceDefinition) { v0(c).Storage = false },
			`spec.versions: Invalid value: 0: must have exactly one version marked as storage version`},
		{"two storage versions", func(c *apiextensionsv1.CustomResourceDefinition) {
			v := *v0(c).DeepCopy()
			v.Name = "v2"
			c.Spec.Versions = append(c.Spec.Versions, v)
		}, `spec.versions: Invalid value: 2: must have exactly one version marked as storage version`},
		{"duplicate version", func(c *apiextensionsv1.CustomResourceDefinition) {
			v := *v0(c).DeepCopy()
			v.Storage = false
			c.Spec.Versions = append(c.Spec.Versions, v)
		}, `spec.versions[1].name: Duplicate value: "v1"`},
		{"bad version name", func(c *apiextensionsv1.CustomResourceDefinition) { v0(c).Name = "1.0" },
			`spec.versions[0].name: Invalid value: "1.0"`},
		{"missing schema", func(c *apiextensionsv1.CustomResourceDefinition) { v0(c).Schema = nil },
			`spec.versions[0].schema.openAPIV3Schema: Required value`},
		{"webhook conversion without client", func(c *apiextensionsv1.CustomResourceDefinition) {
			c.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter}
		}, `spec.conversion.webhook.clientConfig: Required value`},
		{"webhook conversion over http", func(c *apiextensionsv1.CustomResourceDefinition) {
			u := "http://example.com/convert"
			c.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter,
				Webhook: &apiextensionsv1.WebhookConversion{ClientConfig: &apiextensionsv1.WebhookClientConfig{URL: &u}, ConversionReviewVersions: []string{"v1"}}}
		}, `spec.conversion.webhook.clientConfig.url: Invalid value: "http://example.com/convert": 'https' is the only allowed URL scheme`},
		{"webhook conversion review versions", func(c *apiextensionsv1.CustomResourceDefinition) {
			u := "https://example.com/convert"
			c.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter,
				Webhook: &apiextensionsv1.WebhookConversion{ClientConfig: &apiextensionsv1.WebhookClientConfig{URL: &u}, ConversionReviewVersions: []string{"v9"}}}
		}, `spec.conversion.webhook.conversionReviewVersions: Invalid value`},
		{"preserveUnknownFields", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.PreserveUnknownFields = true },
			`spec.preserveUnknownFields: Invalid value: true`},
		{"printer column type", func(c *apiextensionsv1.CustomResourceDefinition) { v0(c).AdditionalPrinterColumns[0].Type = "float" },
			`spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "float": must be one of boolean,date,integer,number,string`},
		{"printer column path", func(c *apiextensionsv1.CustomResourceDefinition) {
			v0(c).AdditionalPrinterColumns[0].JSONPath = "spec.size"
		},
			`spec.versions[0].additionalPrinterColumns[0].jsonPath: Invalid value: "spec.size": must be a simple json path starting with .`},
		{"printer column path missing", func(c *apiextensionsv1.CustomResourceDefinition) { v0(c).AdditionalPrinterColumns[0].JSONPath = "" },
			`spec.versions[0].additionalPrinterColumns[0].jsonPath: Required value`},
		{"printer column format", func(c *apiextensionsv1.CustomResourceDefinition) { v0(c).AdditionalPrinterColumns[0].Format = "money" },
			`spec.versions[0].additionalPrinterColumns[0].format: Invalid value: "money"`},
		{"scale spec path outside spec", func(c *apiextensionsv1.CustomResourceDefinition) {
			v0(c).Subresources.Scale.SpecReplicasPath = ".status.replicas"
		},
			`spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec`},
		{"scale status path missing", func(c *apiextensionsv1.CustomResourceDefinition) { v0(c).Subresources.Scale.StatusReplicasPath = "" },
			`spec.versions[0].subresources.scale.statusReplicasPath: Required value`},
		{"scale selector path", func(c *apiextensionsv1.CustomResourceDefinition) {
			v0(c).Subresources.Scale.LabelSelectorPath = ptr.To(".metadata.labels")
		}, `spec.versions[0].subresources.scale.labelSelectorPath: Invalid value: ".metadata.labels": should be a json path under either .spec or .status`},
		{"stored version removed", func(c *apiextensionsv1.CustomResourceDefinition) { c.Status.StoredVersions = []string{"v1beta1", "v1"} },
			`status.storedVersions[0]: Invalid value: "v1beta1": missing from spec.versions`},

		// Structural schema rules.
		{"field without type", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			s.Type = ""
			setSpec(c, s)
		}, sp + `.properties[spec].type: Required value: must not be empty for specified object fields`},
		{"item without type", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			tags := s.Properties["tags"]
			tags.Items.Schema.Type = ""
			s.Properties["tags"] = tags
			setSpec(c, s)
		}, sp + `.properties[spec].properties[tags].items.type: Required value: must not be empty for specified array items`},
		{"root not object", func(c *apiextensionsv1.CustomResourceDefinition) { root(c).Type = "string" },
			sp + `.type: Invalid value: "string": must be object at the root`},
		{"array without items", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			tags := s.Properties["tags"]
			tags.Items = nil
			s.Properties["tags"] = tags
			setSpec(c, s)
		}, sp + `.properties[spec].properties[tags].items: Required value: must be specified`},
		{"properties and additionalProperties", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			s.AdditionalProperties = &apiextensionsv1.JSONSchemaPropsOrBool{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}}
			setSpec(c, s)
		}, sp + `.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`},
		{"additionalProperties at root", func(c *apiextensionsv1.CustomResourceDefinition) {
			root(c).AdditionalProperties = &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true}
		}, sp + `.additionalProperties: Forbidden: must not be used at the root`},
		{"metadata restricts labels", func(c *apiextensionsv1.CustomResourceDefinition) {
			root(c).Properties["metadata"] = apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"labels": {Type: "object"},
			}}
		}, sp + `.properties[metadata]: Forbidden: must not specify anything other than name and generateName`},
		{"type in anyOf", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			s.AnyOf = []apiextensionsv1.JSONSchemaProps{{Type: "object"}, {Required: []string{"size"}}}
			setSpec(c, s)
		}, sp + `.properties[spec].anyOf[0].type: Forbidden: must be empty to be structural`},
		{"junctor property not outside", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			s.OneOf = []apiextensionsv1.JSONSchemaProps{{Properties: map[string]apiextensionsv1.JSONSchemaProps{"ghost": {MinLength: ptr.To[int64](1)}}}}
			setSpec(c, s)
		}, sp + `.properties[spec].properties[ghost]: Required value: because it is defined in ` + sp + `.properties[spec].oneOf[0].properties[ghost]`},
		{"unsupported type", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			s.Properties["size"] = apiextensionsv1.JSONSchemaProps{Type: "int"}
			setSpec(c, s)
		}, sp + `.properties[spec].properties[size].type: Unsupported value: "int"`},
		{"uniqueItems", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			tags := s.Properties["tags"]
			tags.UniqueItems = true
			s.Properties["tags"] = tags
			setSpec(c, s)
		}, sp + `.properties[spec].properties[tags].uniqueItems: Forbidden`},
		{"$ref", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			s.Ref = ptr.To("#/definitions/x")
			setSpec(c, s)
		}, sp + `.properties[spec].$ref: Forbidden: $ref is not supported`},
		{"bad pattern", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			s.Properties["name"] = apiextensionsv1.JSONSchemaProps{Type: "string", Pattern: "(["}
			setSpec(c, s)
		}, sp + `.properties[spec].properties[name].pattern: Invalid value: "(["`},
		{"int-or-string with type", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			s.Properties["port"] = apiextensionsv1.JSONSchemaProps{Type: "string", XIntOrString: true}
			setSpec(c, s)
		}, sp + `.properties[spec].properties[port].type: Invalid value: "string": must be empty if x-kubernetes-int-or-string is true`},
		{"embedded without type", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			s.Properties["template"] = apiextensionsv1.JSONSchemaProps{XEmbeddedResource: true, XPreserveUnknownFields: ptr.To(true)}
			setSpec(c, s)
		}, sp + `.properties[spec].properties[template].type: Required value: must be object if x-kubernetes-embedded-resource is true`},
		{"preserve false", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			cfg := s.Properties["config"]
			cfg.XPreserveUnknownFields = ptr.To(false)
			s.Properties["config"] = cfg
			setSpec(c, s)
		}, sp + `.properties[spec].properties[config].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined`},
		{"list type on object", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			cfg := s.Properties["nested"]
			cfg.XListType = ptr.To("set")
			s.Properties["nested"] = cfg
			setSpec(c, s)
		}, sp + `.properties[spec].properties[nested].type: Invalid value: "object": must be array if x-kubernetes-list-type is specified`},
		{"list map without keys", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			ports := s.Properties["ports"]
			ports.XListType = ptr.To("map")
			s.Properties["ports"] = ports
			setSpec(c, s)
		}, sp + `.properties[spec].properties[ports].x-kubernetes-list-map-keys: Required value`},
		{"nullable root", func(c *apiextensionsv1.CustomResourceDefinition) { root(c).Nullable = true },
			sp + `.nullable: Forbidden: nullable cannot be true at the root`},

		// Defaults.
		{"default of wrong type", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			r := s.Properties["replicas"]
			r.Default = &apiextensionsv1.JSON{Raw: []byte(`"one"`)}
			s.Properties["replicas"] = r
			setSpec(c, s)
		}, sp + `.properties[spec].properties[replicas].default: Invalid value: "string": must be of type integer: "string"`},
		{"default not in enum", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			r := s.Properties["color"]
			r.Default = &apiextensionsv1.JSON{Raw: []byte(`"pink"`)}
			s.Properties["color"] = r
			setSpec(c, s)
		}, sp + `.properties[spec].properties[color].default: Unsupported value: "pink": supported values: "red", "green", "blue"`},
		{"default with unknown field", func(c *apiextensionsv1.CustomResourceDefinition) {
			s := spec(c)
			r := s.Properties["nested"]
			r.Default = &apiextensionsv1.JSON{Raw: []byte(`{"level":"x","bogus":1}`)}
			s.Properties["nested"] = r
			setSpec(c, s)
		}, sp + `.properties[spec].properties[nested].default: Invalid value: "{\"level\":\"x\",\"bogus\":1}": must not have unknown fields: bogus`},
		{"default in metadata", func(c *apiextensionsv1.CustomResourceDefinition) {
			root(c).Properties["metadata"] = apiextensionsv1.JSONSchemaProps{Type: "object", Default: &apiextensionsv1.JSON{Raw: []byte(`{}`)}}
		}, sp + `.properties[metadata].default: Forbidden: must not be set in top-level metadata`},
		{"status root restrictions", func(c *apiextensionsv1.CustomResourceDefinition) {
			root(c).AnyOf = []apiextensionsv1.JSONSchemaProps{{Required: []string{"spec"}}}
		}, sp + `: Forbidden: only description, type`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			crd := mustCRD(t, widgetCRD)
			tc.mutate(crd)
			got := errText(ValidateCRD(crd))
			if !strings.Contains(got, tc.want) {
				t.Fatalf("want error containing\n  %s\ngot:\n%s", tc.want, got)
			}
		})
	}
}

func TestValidateCRDStructuralExceptions(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		want   string // "" = valid
	}{
		{"preserve-unknown node needs no type", `
type: object
properties:
  spec:
    x-kubernetes-preserve-unknown-fields: true`, ""},
		{"int-or-string anyOf pattern", `
type: object
properties:
  spec:
    type: object
    properties:
      port:
        x-kubernetes-int-or-string: true
        anyOf: [{type: integer}, {type: string}]`, ""},
		{"int-or-string allOf pattern", `
type: object
properties:
  spec:
    type: object
    properties:
      port:
        x-kubernetes-int-or-string: true
        allOf:
        - anyOf: [{type: integer}, {type: string}]
        - pattern: '^[0-9a-z]+$'`, ""},
		{"value validation on known field", `
type: object
properties:
  spec:
    type: object
    properties:
      a: {type: string}
      b: {type: string}
    oneOf:
    - required: [a]
    - required: [b]`, ""},
		{"metadata name restriction", `
type: object
properties:
  metadata:
    type: object
    properties:
      name: {type: string, maxLength: 20}`, ""},
		{"map with additionalProperties true", `
type: object
properties:
  spec:
    type: object
    additionalProperties: true`, ""},
		{"root without type", `
properties:
  spec: {type: object}`, "spec.versions[0].schema.openAPIV3Schema.type: Required value: must not be empty at the root"},
		{"kind must be string", `
type: object
properties:
  kind: {type: integer}`, "spec.versions[0].schema.openAPIV3Schema.properties[kind].type: Invalid value: \"integer\": must be string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateCRD(crdWithSchema(t, tc.schema))
			got := errText(errs)
			if tc.want == "" && len(errs) > 0 {
				t.Fatalf("want valid, got:\n%s", got)
			}
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("want error containing\n  %s\ngot:\n%s", tc.want, got)
			}
		})
	}
}

func TestValidateCRDUpdate(t *testing.T) {
	established := func(c *apiextensionsv1.CustomResourceDefinition) {
		c.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue}}
	}
	tests := []struct {
		name        string
		established bool
		mutate      func(c *apiextensionsv1.CustomResourceDefinition)
		want        string // "" = allowed
	}{
		{"group immutable", false, func(c *apiextensionsv1.CustomResourceDefinition) {
			c.Spec.Group = "other.com"
			c.Name = "widgets.other.com"
		}, `spec.group: Invalid value: "other.com": field is immutable`},
		{"plural immutable", false, func(c *apiextensionsv1.CustomResourceDefinition) {
			c.Spec.Names.Plural = "gadgets"
			c.Name = "gadgets.example.com"
		}, `spec.names.plural: Invalid value: "gadgets": field is immutable`},
		{"scope immutable once established", true, func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Scope = apiextensionsv1.ClusterScoped },
			`spec.scope: Invalid value: "Cluster": field is immutable`},
		{"scope changeable before established", false, func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Scope = apiextensionsv1.ClusterScoped }, ""},
		{"kind immutable once established", true, func(c *apiextensionsv1.CustomResourceDefinition) {
			c.Spec.Names.Kind, c.Spec.Names.ListKind = "Gadget", "GadgetList"
		}, `spec.names.kind: Invalid value: "Gadget": field is immutable`},
		{"short names and singular may change", true, func(c *apiextensionsv1.CustomResourceDefinition) {
			c.Spec.Names.ShortNames = []string{"wdg"}
			c.Spec.Names.Singular = "widgetx"
		}, ""},
		{"add served version", true, func(c *apiextensionsv1.CustomResourceDefinition) {
			v := *c.Spec.Versions[0].DeepCopy()
			v.Name, v.Storage = "v2", false
			c.Spec.Versions = append(c.Spec.Versions, v)
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := mustCRD(t, widgetCRD)
			if tc.established {
				established(old)
			}
			nu := old.DeepCopy()
			tc.mutate(nu)
			got := errText(ValidateCRDUpdate(nu, old))
			if tc.want == "" && got != "" {
				t.Fatalf("want allowed, got:\n%s", got)
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("want error containing\n  %s\ngot:\n%s", tc.want, got)
			}
		})
	}
}

func TestRuleCompilation(t *testing.T) {
	crd := crdWithSchema(t, `
type: object
properties:
  spec:
    type: object
    properties:
      a: {type: integer}
    x-kubernetes-validations:
    - rule: "self.a > 0"
    - rule: "self.nosuchfield == 1"
    - rule: "self.a > 0"
      messageExpression: "1 + "`)
	errs := ValidateCRD(crd)
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
	}
	want := "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[1].rule"
	if len(errs) != 2 || errs[0].Field != want || !strings.Contains(errs[0].Detail, "compilation failed") ||
		!strings.HasSuffix(errs[1].Field, "x-kubernetes-validations[2].messageExpression") {
		t.Fatalf("errors %v", errs)
	}
	if errs := ValidateCRD(mustCRD(t, widgetCRD)); len(errs) != 0 {
		t.Fatalf("widget: %v", errs)
	}
}

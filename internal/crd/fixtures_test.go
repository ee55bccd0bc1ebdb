package crd

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// widgetCRD is a realistic CRD exercising most schema features.
const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    kind: Widget
    shortNames: [wd]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    additionalPrinterColumns:
    - name: Size
      type: integer
      jsonPath: .spec.size
    - name: Color
      type: string
      jsonPath: .spec.color
      priority: 1
    - name: Ready
      type: boolean
      jsonPath: .status.ready
    - name: Ratio
      type: number
      jsonPath: .spec.ratio
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size:
                type: integer
                minimum: 1
                maximum: 10
              replicas:
                type: integer
                default: 1
              color:
                type: string
                enum: [red, green, blue]
                default: red
              name:
                type: string
                pattern: '^[a-z]+$'
                maxLength: 8
              ratio:
                type: number
              port:
                x-kubernetes-int-or-string: true
              mode:
                type: string
                nullable: true
                default: auto
              tags:
                type: array
                maxItems: 3
                items:
                  type: string
              ports:
                type: array
                items:
                  type: object
                  properties:
                    name:
                      type: string
                    protocol:
                      type: string
                      default: TCP
              labels:
                type: object
                additionalProperties:
                  type: object
                  properties:
                    value:
                      type: string
                    weight:
                      type: integer
                      default: 5
              config:
                type: object
                x-kubernetes-preserve-unknown-fields: true
                properties:
                  known:
                    type: object
                    properties:
                      a:
                        type: string
              nested:
                type: object
                default: {}
                properties:
                  level:
                    type: string
                    default: info
              template:
                type: object
                x-kubernetes-embedded-resource: true
                x-kubernetes-preserve-unknown-fields: true
          status:
            type: object
            properties:
              replicas:
                type: integer
              selector:
                type: string
              ready:
                type: boolean
`

func mustCRD(t testing.TB, y string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict([]byte(y), crd); err != nil {
		t.Fatalf("bad fixture: %v", err)
	}
	DefaultCRD(crd)
	return crd
}

func mustSchema(t testing.TB) *Schema {
	t.Helper()
	crd := mustCRD(t, widgetCRD)
	if errs := ValidateCRD(crd); len(errs) > 0 {
		t.Fatalf("fixture CRD invalid: %v", errs.ToAggregate())
	}
	s, err := Compile(crd, "v1")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustObj(t testing.TB, y string) map[string]interface{} {
	t.Helper()
	var m map[string]interface{}
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeJSON(j)
	if err != nil {
		t.Fatal(err)
	}
	m, _ = v.(map[string]interface{})
	return m
}

// schemaOf wraps a spec schema in a minimal valid CRD.
func crdWithSchema(t testing.TB, schema string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd := mustCRD(t, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: things, kind: Thing}
  versions:
  - name: v1
    served: true
    storage: true
`)
	p := &apiextensionsv1.JSONSchemaProps{}
	if err := yaml.UnmarshalStrict([]byte(schema), p); err != nil {
		t.Fatalf("bad schema fixture: %v", err)
	}
	crd.Spec.Versions[0].Schema = &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: p}
	return crd
}

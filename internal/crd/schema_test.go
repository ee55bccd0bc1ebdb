package crd

import (
	"reflect"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestCompile(t *testing.T) {
	crd := mustCRD(t, widgetCRD)
	if _, err := Compile(crd, "v2"); err == nil {
		t.Fatal("unknown version compiled")
	}
	if _, err := Compile(nil, "v1"); err == nil {
		t.Fatal("nil CRD compiled")
	}
	s, err := Compile(crd, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if !s.StatusEnabled() || s.Scale() == nil || s.Scale().SpecReplicasPath != ".spec.replicas" {
		t.Fatalf("subresources not reported: status=%v scale=%v", s.StatusEnabled(), s.Scale())
	}
	if s.OpenAPISchema() == nil || s.OpenAPISchema().Properties["spec"].Type != "object" {
		t.Fatal("OpenAPISchema lost the schema")
	}
	// The compiled schema must not share memory with the CRD.
	crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = apiextensionsv1.JSONSchemaProps{Type: "string"}
	if s.OpenAPISchema().Properties["spec"].Type != "object" {
		t.Fatal("Schema aliases the CRD")
	}
}

func TestPrune(t *testing.T) {
	s := mustSchema(t)
	tests := []struct {
		name       string
		in, want   string
		wantPruned []string
	}{
		{"keeps known, drops unknown nested",
			`{apiVersion: example.com/v1, kind: Widget, metadata: {name: a}, spec: {size: 1, bogus: 2}, extra: x}`,
			`{apiVersion: example.com/v1, kind: Widget, metadata: {name: a}, spec: {size: 1}}`,
			[]string{"extra", "spec.bogus"}},
		{"metadata keeps ObjectMeta only",
			`{metadata: {name: a, labels: {x: y}, annotations: {a: b}, finalizers: [f], color: red}}`,
			`{metadata: {name: a, labels: {x: y}, annotations: {a: b}, finalizers: [f]}}`,
			[]string{"metadata.color"}},
		{"array items",
			`{spec: {ports: [{name: a, x: 1}, {name: b}], tags: [a, b]}}`,
			`{spec: {ports: [{name: a}, {name: b}], tags: [a, b]}}`,
			[]string{"spec.ports[0].x"}},
		{"additionalProperties values",
			`{spec: {labels: {one: {value: v, junk: 1}, two: {weight: 2}}}}`,
			`{spec: {labels: {one: {value: v}, two: {weight: 2}}}}`,
			[]string{"spec.labels.one.junk"}},
		{"preserve unknown keeps unknown, prunes known",
			`{spec: {config: {anything: {deep: 1}, known: {a: x, b: y}}}}`,
			`{spec: {config: {anything: {deep: 1}, known: {a: x}}}}`,
			[]string{"spec.config.known.b"}},
		{"embedded resource keeps type and object meta",
			`{spec: {template: {apiVersion: v1, kind: Pod, metadata: {name: p, bad: 1}, spec: {containers: []}}}}`,
			`{spec: {template: {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: []}}}}`,
			[]string{"spec.template.metadata.bad"}},
		{"type mismatch left for validation",
			`{spec: "a string", status: [1, 2]}`,
			`{spec: "a string", status: [1, 2]}`,
			nil},
		{"status pruned too",
			`{status: {replicas: 1, phase: x}}`,
			`{status: {replicas: 1}}`,
			[]string{"status.phase"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := mustObj(t, tc.in)
			pruned := s.Prune(obj)
			if want := mustObj(t, tc.want); !reflect.DeepEqual(obj, want) {
				t.Errorf("got %v\nwant %v", obj, want)
			}
			if !reflect.DeepEqual(pruned, tc.wantPruned) {
				t.Errorf("pruned %q, want %q", pruned, tc.wantPruned)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	s := mustSchema(t)
	tests := []struct {
		name     string
		in, want string
	}{
		{"top-level spec fields",
			`{spec: {size: 2}}`,
			`{spec: {size: 2, replicas: 1, color: red, mode: auto, nested: {level: info}}}`},
		{"present values win",
			`{spec: {size: 2, replicas: 3, color: blue, mode: manual, nested: {level: debug}}}`,
			`{spec: {size: 2, replicas: 3, color: blue, mode: manual, nested: {level: debug}}}`},
		{"inside array items",
			`{spec: {size: 1, ports: [{name: a}, {name: b, protocol: UDP}]}}`,
			`{spec: {size: 1, replicas: 1, color: red, mode: auto, nested: {level: info}, ports: [{name: a, protocol: TCP}, {name: b, protocol: UDP}]}}`},
		{"inside additionalProperties values",
			`{spec: {size: 1, labels: {x: {value: v}}}}`,
			`{spec: {size: 1, replicas: 1, color: red, mode: auto, nested: {level: info}, labels: {x: {value: v, weight: 5}}}}`},
		{"null in non-nullable field gets default",
			`{spec: {size: 1, replicas: null, color: null}}`,
			`{spec: {size: 1, replicas: 1, color: red, mode: auto, nested: {level: info}}}`},
		{"null in non-nullable field without default is dropped",
			`{spec: {size: 1, name: null}}`,
			`{spec: {size: 1, replicas: 1, color: red, mode: auto, nested: {level: info}}}`},
		{"null in nullable field is kept",
			`{spec: {size: 1, mode: null}}`,
			`{spec: {size: 1, replicas: 1, color: red, mode: null, nested: {level: info}}}`},
		{"absent parent is not created",
			`{status: {}}`,
			`{status: {}}`},
		{"metadata untouched",
			`{metadata: {name: a}}`,
			`{metadata: {name: a}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := mustObj(t, tc.in)
			s.Default(obj)
			if want := mustObj(t, tc.want); !reflect.DeepEqual(obj, want) {
				t.Errorf("got  %v\nwant %v", obj, want)
			}
		})
	}
	// Defaults are copied, never shared between objects.
	a, b := mustObj(t, `{spec: {size: 1}}`), mustObj(t, `{spec: {size: 1}}`)
	s.Default(a)
	s.Default(b)
	a["spec"].(map[string]interface{})["nested"].(map[string]interface{})["level"] = "changed"
	if b["spec"].(map[string]interface{})["nested"].(map[string]interface{})["level"] != "info" {
		t.Fatal("default value shared between objects")
	}
}

func TestValidate(t *testing.T) {
	s := mustSchema(t)
	base := `apiVersion: example.com/v1
kind: Widget
metadata: {name: a, creationTimestamp: "2024-01-01T00:00:00Z"}
`
	tests := []struct {
		name string
		spec string
		want []string // error strings; nil = valid
	}{
		{"valid", `spec: {size: 5, color: red, name: abc, port: 80, tags: [a]}`, nil},
		{"int-or-string string", `spec: {size: 5, port: http}`, nil},
		{"int-or-string bool", `spec: {size: 5, port: true}`,
			[]string{`spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"`}},
		{"wrong type", `spec: {size: five}`,
			[]string{`spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"`}},
		{"maximum", `spec: {size: 11}`,
			[]string{`spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10`}},
		{"minimum", `spec: {size: 0}`,
			[]string{`spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1`}},
		{"required", `spec: {color: red}`,
			[]string{`spec.size: Required value`}},
		{"enum", `spec: {size: 1, color: pink}`,
			[]string{`spec.color: Unsupported value: "pink": supported values: "red", "green", "blue"`}},
		{"pattern", `spec: {size: 1, name: "ABC"}`,
			[]string{`spec.name: Invalid value: "ABC": spec.name in body should match '^[a-z]+$'`}},
		{"maxLength", `spec: {size: 1, name: abcdefghij}`,
			[]string{`spec.name: Too long: may not be more than 8 bytes`}},
		{"maxItems", `spec: {size: 1, tags: [a, b, c, d]}`,
			[]string{`spec.tags: Too many: 4: must have at most 3 items`}},
		{"array item type", `spec: {size: 1, ports: [{name: 1}]}`,
			[]string{`spec.ports[0].name: Invalid value: "integer": spec.ports[0].name in body must be of type string: "integer"`}},
		{"map value type", `spec: {size: 1, labels: {x: {weight: heavy}}}`,
			[]string{`spec.labels.x.weight: Invalid value: "string": spec.labels.x.weight in body must be of type integer: "string"`}},
		{"null in non-nullable", `spec: {size: 1, name: null}`,
			[]string{`spec.name: Invalid value: "null": spec.name in body must be of type string: "null"`}},
		{"null in nullable", `spec: {size: 1, mode: null}`, nil},
		{"embedded resource needs kind", `spec: {size: 1, template: {apiVersion: v1, metadata: {name: x}}}`,
			[]string{`spec.template.kind: Required value: must not be empty`}},
		{"embedded resource complete", `spec: {size: 1, template: {apiVersion: v1, kind: Pod}}`, nil},
		{"spec not an object", `spec: 3`,
			[]string{`spec: Invalid value: "integer": spec in body must be of type object: "integer"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := mustObj(t, base+tc.spec)
			var got []string
			for _, e := range s.Validate(obj) {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestPrinterColumns(t *testing.T) {
	s := mustSchema(t)
	var names []string
	for _, c := range s.PrinterColumns() {
		names = append(names, c.Name+"/"+c.Type)
	}
	if want := "Name/string Size/integer Color/string Ready/boolean Ratio/number Age/date"; strings.Join(names, " ") != want {
		t.Fatalf("columns %q, want %q", strings.Join(names, " "), want)
	}
	if s.PrinterColumns()[2].Priority != 1 {
		t.Fatal("priority lost")
	}

	// A CRD without additionalPrinterColumns gets Name and Age.
	plain := crdWithSchema(t, `{type: object, x-kubernetes-preserve-unknown-fields: true}`)
	ps, err := Compile(plain, "v1")
	if err != nil {
		t.Fatal(err)
	}
	cols := ps.PrinterColumns()
	if len(cols) != 2 || cols[0].Name != "Name" || cols[1].Name != "Age" || cols[1].Type != "date" {
		t.Fatalf("default columns %+v", cols)
	}

	now := time.Date(2024, 1, 1, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		obj  string
		want []interface{}
	}{
		{"all present",
			`{metadata: {name: w1, creationTimestamp: "2024-01-01T00:55:00Z"}, spec: {size: 3, color: red, ratio: 0.5}, status: {ready: true}}`,
			[]interface{}{"w1", int64(3), "red", true, 0.5, "5m"}},
		{"missing values are nil",
			`{metadata: {name: w2}}`,
			[]interface{}{"w2", nil, nil, nil, nil, nil}},
		{"integer from float, number from int, wrong types nil",
			`{metadata: {name: w3, creationTimestamp: "2023-12-30T01:00:00Z"}, spec: {size: 4.0, ratio: 2, color: 7}, status: {ready: "yes"}}`,
			[]interface{}{"w3", int64(4), "7", nil, float64(2), "2d"}},
		{"invalid date",
			`{metadata: {name: w4, creationTimestamp: "yesterday"}}`,
			[]interface{}{"w4", nil, nil, nil, nil, "<invalid>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			row, err := s.RowAt(&unstructured.Unstructured{Object: mustObj(t, tc.obj)}, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(row, tc.want) {
				t.Errorf("row %#v, want %#v", row, tc.want)
			}
		})
	}
	row, err := ps.RowAt(&unstructured.Unstructured{Object: mustObj(t, `{metadata: {name: p, creationTimestamp: "2024-01-01T00:00:00Z"}}`)}, now)
	if err != nil || !reflect.DeepEqual(row, []interface{}{"p", "60m"}) {
		t.Fatalf("default row %#v, %v", row, err)
	}
	if _, err := s.Row(nil); err == nil {
		t.Fatal("nil object accepted")
	}
}

// TestConcurrentUse runs one Schema from several goroutines, as the server
// does; run with -race to check it shares no mutable state.
func TestConcurrentUse(t *testing.T) {
	s := mustSchema(t)
	done := make(chan struct{})
	for i := 0; i < 4; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for j := 0; j < 50; j++ {
				obj := mustObj(t, `{metadata: {name: a, creationTimestamp: "2024-01-01T00:00:00Z"}, spec: {size: 3, bogus: 1}}`)
				s.Prune(obj)
				s.Default(obj)
				if errs := s.Validate(obj); len(errs) > 0 {
					t.Error(errs)
					return
				}
				if _, err := s.Row(&unstructured.Unstructured{Object: obj}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < 4; i++ {
		<-done
	}
}

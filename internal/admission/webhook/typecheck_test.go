package webhook

import (
	"fmt"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// widgetSchemas serves one kind: spec.replicas (integer), spec.name (string).
type widgetSchemas struct{}

func (widgetSchemas) ResolveSchema(gvk schema.GroupVersionKind) (*spec.Schema, error) {
	if gvk.Kind != "Widget" {
		return nil, fmt.Errorf("unknown %v", gvk)
	}
	specProps := map[string]spec.Schema{"replicas": *spec.Int64Property(), "name": *spec.StringProperty()}
	return &spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}, Properties: map[string]spec.Schema{
		"apiVersion": *spec.StringProperty(), "kind": *spec.StringProperty(),
		"spec": {SchemaProps: spec.SchemaProps{Type: []string{"object"}, Properties: specProps}},
	}}}, nil
}

func TestTypeCheck(t *testing.T) {
	kinds := func(g, v, r string) (string, bool) { return "Widget", g == "example.com" && r == "widgets" }
	policy := func(rules []string, exprs ...string) *admissionregistrationv1.ValidatingAdmissionPolicy {
		p := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: rule(allOps, []string{"example.com"}, []string{"v1"}, rules, "*")}}}}}
		for _, e := range exprs {
			p.Spec.Validations = append(p.Spec.Validations, admissionregistrationv1.Validation{Expression: e})
		}
		return p
	}
	tests := []struct {
		name  string
		p     *admissionregistrationv1.ValidatingAdmissionPolicy
		field string // "" = no warnings
		want  string
	}{
		{"well typed", policy([]string{"widgets"}, "object.spec.replicas < 5 && object.spec.name != ''"), "", ""},
		{"int vs string", policy([]string{"widgets"}, "object.spec.replicas", "object.spec.replicas > '1'"), "spec.validations[1].expression", "example.com/v1, Kind=Widget: ERROR"},
		{"no such field", policy([]string{"widgets"}, "object.spec.color == 'red'"), "spec.validations[0].expression", "undefined field 'color'"},
		{"wildcards are not checked", policy([]string{"*"}, "object.spec.replicas > '1'"), "", ""},
		{"unknown resources are not checked", policy([]string{"gadgets"}, "object.spec.replicas > '1'"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := TypeCheck(tt.p, kinds, widgetSchemas{})
			if tt.field == "" {
				if len(w) != 0 {
					t.Errorf("warnings %+v", w)
				}
				return
			}
			if len(w) != 1 || w[0].FieldRef != tt.field || !strings.Contains(w[0].Warning, tt.want) {
				t.Errorf("warnings %+v, want %s: %s", w, tt.field, tt.want)
			}
		})
	}
}

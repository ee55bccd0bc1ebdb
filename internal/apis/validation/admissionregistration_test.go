package validation

import (
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/apis/defaults"
)

func validHook() admissionregistrationv1.ValidatingWebhook {
	u := "https://hooks.example.com:8443/validate"
	none := admissionregistrationv1.SideEffectClassNone
	return admissionregistrationv1.ValidatingWebhook{
		Name: "check.example.com", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &u},
		Rules: []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{"CREATE"},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments", "deployments/scale"}},
		}},
		SideEffects: &none, AdmissionReviewVersions: []string{"v1", "v1beta1"},
	}
}

func TestValidateWebhookConfigurations(t *testing.T) {
	str := func(s string) *string { return &s }
	i32 := func(i int32) *int32 { return &i }
	some := admissionregistrationv1.SideEffectClassSome
	tests := []struct {
		name   string
		mutate func(*admissionregistrationv1.ValidatingWebhook)
		want   string // "" = valid; else a field path in the error
	}{
		{"valid", func(*admissionregistrationv1.ValidatingWebhook) {}, ""},
		{"service form", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.ClientConfig = admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "svc", Path: str("/x"), Port: i32(8443)}}
		}, ""},
		{"unqualified name", func(w *admissionregistrationv1.ValidatingWebhook) { w.Name = "check" }, "webhooks[0].name"},
		{"no client config", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.ClientConfig = admissionregistrationv1.WebhookClientConfig{}
		}, "webhooks[0].clientConfig"},
		{"url and service", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.ClientConfig.Service = &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "svc"}
		}, "webhooks[0].clientConfig"},
		{"http url", func(w *admissionregistrationv1.ValidatingWebhook) { w.ClientConfig.URL = str("http://x/y") }, "webhooks[0].clientConfig.url"},
		{"user info", func(w *admissionregistrationv1.ValidatingWebhook) { w.ClientConfig.URL = str("https://u:p@x/y") }, "webhooks[0].clientConfig.url"},
		{"query", func(w *admissionregistrationv1.ValidatingWebhook) { w.ClientConfig.URL = str("https://x/y?a=b") }, "webhooks[0].clientConfig.url"},
		{"fragment", func(w *admissionregistrationv1.ValidatingWebhook) { w.ClientConfig.URL = str("https://x/y#f") }, "webhooks[0].clientConfig.url"},
		{"service port", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.ClientConfig = admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "svc", Port: i32(70000)}}
		}, "webhooks[0].clientConfig.service.port"},
		{"service path", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.ClientConfig = admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "svc", Path: str("x")}}
		}, "webhooks[0].clientConfig.service.path"},
		{"no operations", func(w *admissionregistrationv1.ValidatingWebhook) { w.Rules[0].Operations = nil }, "webhooks[0].rules[0].operations"},
		{"bad operation", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.Rules[0].Operations = []admissionregistrationv1.OperationType{"PATCH"}
		}, "webhooks[0].rules[0].operations[0]"},
		{"*/* with others", func(w *admissionregistrationv1.ValidatingWebhook) { w.Rules[0].Resources = []string{"*/*", "pods"} }, "webhooks[0].rules[0].resources"},
		{"bad scope", func(w *admissionregistrationv1.ValidatingWebhook) {
			s := admissionregistrationv1.ScopeType("Everywhere")
			w.Rules[0].Scope = &s
		}, "webhooks[0].rules[0].scope"},
		{"side effects missing", func(w *admissionregistrationv1.ValidatingWebhook) { w.SideEffects = nil }, "webhooks[0].sideEffects"},
		{"side effects Some", func(w *admissionregistrationv1.ValidatingWebhook) { w.SideEffects = &some }, "webhooks[0].sideEffects"},
		{"review versions missing", func(w *admissionregistrationv1.ValidatingWebhook) { w.AdmissionReviewVersions = nil }, "webhooks[0].admissionReviewVersions"},
		{"review versions unknown", func(w *admissionregistrationv1.ValidatingWebhook) { w.AdmissionReviewVersions = []string{"v2"} }, "webhooks[0].admissionReviewVersions"},
		{"timeout", func(w *admissionregistrationv1.ValidatingWebhook) { w.TimeoutSeconds = i32(31) }, "webhooks[0].timeoutSeconds"},
		{"selector", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}
		}, "webhooks[0].namespaceSelector"},
		{"match condition compiles", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "ok", Expression: "request.userInfo.username != 'x' && authorizer.group('').resource('pods').check('get').allowed()"}}
		}, ""},
		{"match condition syntax", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "bad", Expression: "object.("}}
		}, "webhooks[0].matchConditions[0].expression"},
		{"match condition type", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "str", Expression: "'not a bool'"}}
		}, "webhooks[0].matchConditions[0].expression"},
		{"match condition names", func(w *admissionregistrationv1.ValidatingWebhook) {
			w.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "a", Expression: "true"}, {Name: "a", Expression: "true"}}
		}, "webhooks[0].matchConditions[1].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := validHook()
			tt.mutate(&w)
			cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Webhooks: []admissionregistrationv1.ValidatingWebhook{w}}
			defaults.Default(cfg)
			checkErrs(t, Validate(cfg), tt.want)
		})
	}
	// Names are unique within a configuration.
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}}
	for range 2 {
		v := validHook()
		cfg.Webhooks = append(cfg.Webhooks, admissionregistrationv1.MutatingWebhook{Name: v.Name, ClientConfig: v.ClientConfig, Rules: v.Rules,
			SideEffects: v.SideEffects, AdmissionReviewVersions: v.AdmissionReviewVersions})
	}
	defaults.Default(cfg)
	checkErrs(t, Validate(cfg), "webhooks[1].name: Duplicate value")
}

// checkErrs wants no errors (want "") or an error naming want.
func checkErrs(t *testing.T, errs field.ErrorList, want string) {
	t.Helper()
	if want == "" {
		if len(errs) > 0 {
			t.Errorf("unexpected errors: %v", errs.ToAggregate())
		}
		return
	}
	if len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), want) {
		t.Errorf("errors %v, want one about %s", errs.ToAggregate(), want)
	}
}

func TestValidatePolicies(t *testing.T) {
	rules := &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
		RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{"*"},
			Rule: admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}}}}}}
	policy := func(f func(*admissionregistrationv1.ValidatingAdmissionPolicySpec)) runtime.Object {
		p := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{MatchConstraints: rules.DeepCopy(),
				Variables:   []admissionregistrationv1.Variable{{Name: "replicas", Expression: "object.spec.replicas"}},
				Validations: []admissionregistrationv1.Validation{{Expression: "variables.replicas <= 5", MessageExpression: "'too many: ' + string(variables.replicas)"}}}}
		f(&p.Spec)
		defaults.Default(p)
		return p
	}
	binding := func(f func(*admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec)) runtime.Object {
		b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "b"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p", ValidationActions: []admissionregistrationv1.ValidationAction{"Deny"}}}
		f(&b.Spec)
		return b
	}
	deny := admissionregistrationv1.DenyAction
	tests := []struct {
		name string
		obj  runtime.Object
		want string
	}{
		{"valid policy", policy(func(*admissionregistrationv1.ValidatingAdmissionPolicySpec) {}), ""},
		{"no constraints", policy(func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) { s.MatchConstraints = nil }), "spec.matchConstraints"},
		{"no rules", policy(func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) { s.MatchConstraints.ResourceRules = nil }), "spec.matchConstraints.resourceRules"},
		{"no validations", policy(func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) { s.Validations = nil }), "spec.validations"},
		{"syntax", policy(func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.Validations[0].Expression = "object.spec.("
		}), "spec.validations[0].expression"},
		{"unknown variable", policy(func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.Validations[0].Expression = "variables.nope > 1"
		}), "spec.validations[0].expression"},
		{"params without paramKind", policy(func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.Validations[0].Expression = "params.x == 1"
		}), "spec.validations[0].expression"},
		{"params with paramKind", policy(func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
			s.Validations[0].Expression = "params.data.x == 'y'"
		}), ""},
		{"message expression type", policy(func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.Validations[0].MessageExpression = "1 + 1"
		}), "spec.validations[0].messageExpression"},
		{"reason", policy(func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			r := metav1.StatusReason("Teapot")
			s.Validations[0].Reason = &r
		}), "spec.validations[0].reason"},
		{"variable name", policy(func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) { s.Variables[0].Name = "1x" }), "spec.variables[0].name"},
		{"audit annotation", policy(func(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
			s.AuditAnnotations = []admissionregistrationv1.AuditAnnotation{{Key: "k", ValueExpression: "object.("}}
		}), "spec.auditAnnotations[0].valueExpression"},
		{"valid binding", binding(func(*admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) {}), ""},
		{"no policy", binding(func(s *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) { s.PolicyName = "" }), "spec.policyName"},
		{"no actions", binding(func(s *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) { s.ValidationActions = nil }), "spec.validationActions"},
		{"deny and warn", binding(func(s *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) {
			s.ValidationActions = []admissionregistrationv1.ValidationAction{"Deny", "Warn"}
		}), "spec.validationActions"},
		{"unknown action", binding(func(s *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) {
			s.ValidationActions = []admissionregistrationv1.ValidationAction{"Shout"}
		}), "spec.validationActions[0]"},
		{"paramRef name and selector", binding(func(s *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) {
			s.ParamRef = &admissionregistrationv1.ParamRef{Name: "x", Selector: &metav1.LabelSelector{}, ParameterNotFoundAction: &deny}
		}), "spec.paramRef.name"},
		{"paramRef action", binding(func(s *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) {
			s.ParamRef = &admissionregistrationv1.ParamRef{Name: "x"}
		}), "spec.paramRef.parameterNotFoundAction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErrs(t, Validate(tt.obj), tt.want) })
	}
}

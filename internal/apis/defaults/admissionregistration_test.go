package defaults

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

func TestDefaultAdmissionRegistration(t *testing.T) {
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{{
		Name:         "a.example.com",
		ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "s", Namespace: "n"}},
		Rules:        []admissionregistrationv1.RuleWithOperations{{}},
	}}}
	Default(cfg)
	w := cfg.Webhooks[0]
	if *w.FailurePolicy != admissionregistrationv1.Fail || *w.MatchPolicy != admissionregistrationv1.Equivalent ||
		w.NamespaceSelector == nil || w.ObjectSelector == nil || *w.TimeoutSeconds != 10 ||
		*w.ReinvocationPolicy != admissionregistrationv1.NeverReinvocationPolicy || *w.Rules[0].Scope != admissionregistrationv1.AllScopes ||
		*w.ClientConfig.Service.Port != 443 {
		t.Errorf("mutating defaults: %+v", w)
	}
	if w.SideEffects != nil || w.AdmissionReviewVersions != nil {
		t.Error("sideEffects and admissionReviewVersions have no default in v1")
	}
	ignore := admissionregistrationv1.Ignore
	vcfg := &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{FailurePolicy: &ignore}}}
	Default(vcfg)
	if *vcfg.Webhooks[0].FailurePolicy != ignore || *vcfg.Webhooks[0].TimeoutSeconds != 10 {
		t.Errorf("validating defaults: %+v", vcfg.Webhooks[0])
	}
	p := &admissionregistrationv1.ValidatingAdmissionPolicy{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{}}}}}
	Default(p)
	m := p.Spec.MatchConstraints
	if *p.Spec.FailurePolicy != admissionregistrationv1.Fail || *m.MatchPolicy != admissionregistrationv1.Equivalent ||
		m.NamespaceSelector == nil || m.ObjectSelector == nil || *m.ResourceRules[0].Scope != admissionregistrationv1.AllScopes {
		t.Errorf("policy defaults: %+v", p.Spec)
	}
}

package defaults

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Defaults of admissionregistration.k8s.io/v1, as kube-apiserver sets them.
const (
	defaultWebhookTimeoutSeconds = int32(10)
	defaultServicePort           = int32(443)
)

// DefaultAdmissionRegistration applies admissionregistration.k8s.io/v1's
// defaults to webhook configurations, policies and bindings; it reports
// whether obj was one of them. sideEffects and admissionReviewVersions
// have no default in v1: they stay required.
func DefaultAdmissionRegistration(obj runtime.Object) bool {
	switch o := obj.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		if o != nil {
			for i := range o.Webhooks {
				w := &o.Webhooks[i]
				defaultWebhookCommon(&w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector, &w.ObjectSelector, &w.TimeoutSeconds, w.Rules, &w.ClientConfig)
				if w.ReinvocationPolicy == nil {
					p := admissionregistrationv1.NeverReinvocationPolicy
					w.ReinvocationPolicy = &p
				}
			}
		}
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		if o != nil {
			for i := range o.Webhooks {
				w := &o.Webhooks[i]
				defaultWebhookCommon(&w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector, &w.ObjectSelector, &w.TimeoutSeconds, w.Rules, &w.ClientConfig)
			}
		}
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		if o != nil {
			if o.Spec.FailurePolicy == nil {
				f := admissionregistrationv1.Fail
				o.Spec.FailurePolicy = &f
			}
			defaultMatchResources(o.Spec.MatchConstraints)
		}
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		if o != nil {
			defaultMatchResources(o.Spec.MatchResources)
		}
	default:
		return false
	}
	return true
}

func defaultWebhookCommon(fp **admissionregistrationv1.FailurePolicyType, mp **admissionregistrationv1.MatchPolicyType,
	nsSel, objSel **metav1.LabelSelector, timeout **int32, rules []admissionregistrationv1.RuleWithOperations,
	cc *admissionregistrationv1.WebhookClientConfig) {
	if *fp == nil {
		f := admissionregistrationv1.Fail
		*fp = &f
	}
	if *mp == nil {
		m := admissionregistrationv1.Equivalent
		*mp = &m
	}
	if *nsSel == nil {
		*nsSel = &metav1.LabelSelector{}
	}
	if *objSel == nil {
		*objSel = &metav1.LabelSelector{}
	}
	if *timeout == nil {
		t := defaultWebhookTimeoutSeconds
		*timeout = &t
	}
	for i := range rules {
		defaultRuleScope(&rules[i].Rule)
	}
	if cc.Service != nil && cc.Service.Port == nil {
		p := defaultServicePort
		cc.Service.Port = &p
	}
}

func defaultRuleScope(r *admissionregistrationv1.Rule) {
	if r.Scope == nil {
		s := admissionregistrationv1.AllScopes
		r.Scope = &s
	}
}

func defaultMatchResources(m *admissionregistrationv1.MatchResources) {
	if m == nil {
		return
	}
	if m.MatchPolicy == nil {
		p := admissionregistrationv1.Equivalent
		m.MatchPolicy = &p
	}
	if m.NamespaceSelector == nil {
		m.NamespaceSelector = &metav1.LabelSelector{}
	}
	if m.ObjectSelector == nil {
		m.ObjectSelector = &metav1.LabelSelector{}
	}
	for i := range m.ResourceRules {
		defaultRuleScope(&m.ResourceRules[i].Rule)
	}
	for i := range m.ExcludeResourceRules {
		defaultRuleScope(&m.ExcludeResourceRules[i].Rule)
	}
}

package webhook

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func rule(ops []admissionregistrationv1.OperationType, groups, versions, resources []string, scope admissionregistrationv1.ScopeType) admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{Operations: ops, Rule: admissionregistrationv1.Rule{
		APIGroups: groups, APIVersions: versions, Resources: resources, Scope: &scope}}
}

var (
	create = []admissionregistrationv1.OperationType{admissionregistrationv1.Create}
	allOps = []admissionregistrationv1.OperationType{admissionregistrationv1.OperationAll}
)

func TestRuleMatches(t *testing.T) {
	deploy := reqInfo{op: admissionregistrationv1.Create, group: "apps", version: "v1", resource: "deployments", namespaced: true}
	scale := deploy
	scale.subresource, scale.op = "scale", admissionregistrationv1.Update
	node := reqInfo{op: admissionregistrationv1.Create, version: "v1", resource: "nodes"}
	tests := []struct {
		name  string
		rule  admissionregistrationv1.RuleWithOperations
		req   reqInfo
		exact bool
		want  bool
	}{
		{"exact", rule(create, []string{"apps"}, []string{"v1"}, []string{"deployments"}, "*"), deploy, true, true},
		{"other op", rule([]admissionregistrationv1.OperationType{admissionregistrationv1.Delete}, []string{"apps"}, []string{"v1"}, []string{"deployments"}, "*"), deploy, true, false},
		{"all ops", rule(allOps, []string{"apps"}, []string{"v1"}, []string{"deployments"}, "*"), deploy, true, true},
		{"other group", rule(create, []string{""}, []string{"v1"}, []string{"deployments"}, "*"), deploy, true, false},
		{"wildcards", rule(create, []string{"*"}, []string{"*"}, []string{"*"}, "*"), deploy, true, true},
		{"* excludes subresources", rule(allOps, []string{"*"}, []string{"*"}, []string{"*"}, "*"), scale, true, false},
		{"*/* includes subresources", rule(allOps, []string{"*"}, []string{"*"}, []string{"*/*"}, "*"), scale, true, true},
		{"res/sub", rule(allOps, []string{"apps"}, []string{"v1"}, []string{"deployments/scale"}, "*"), scale, true, true},
		{"res/sub not res", rule(allOps, []string{"apps"}, []string{"v1"}, []string{"deployments/scale"}, "*"), deploy, true, false},
		{"res/* covers res", rule(allOps, []string{"apps"}, []string{"v1"}, []string{"deployments/*"}, "*"), deploy, true, true},
		{"*/scale", rule(allOps, []string{"apps"}, []string{"v1"}, []string{"*/scale"}, "*"), scale, true, true},
		{"other version exact", rule(create, []string{"apps"}, []string{"v1beta1"}, []string{"deployments"}, "*"), deploy, true, false},
		{"other version equivalent", rule(create, []string{"apps"}, []string{"v1beta1"}, []string{"deployments"}, "*"), deploy, false, true},
		{"namespaced scope", rule(create, []string{"*"}, []string{"*"}, []string{"*"}, "Namespaced"), deploy, true, true},
		{"namespaced scope, cluster object", rule(create, []string{"*"}, []string{"*"}, []string{"*"}, "Namespaced"), node, true, false},
		{"cluster scope", rule(create, []string{"*"}, []string{"*"}, []string{"*"}, "Cluster"), node, true, true},
		{"cluster scope, namespaced object", rule(create, []string{"*"}, []string{"*"}, []string{"*"}, "Cluster"), deploy, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ruleMatches(&tt.rule, tt.req, tt.exact); got != tt.want {
				t.Errorf("ruleMatches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRuleVersion(t *testing.T) {
	req := reqInfo{op: admissionregistrationv1.Create, group: "example.com", version: "v2", resource: "widgets", namespaced: true}
	rules := []admissionregistrationv1.RuleWithOperations{rule(create, []string{"example.com"}, []string{"v1"}, []string{"widgets"}, "*")}
	exact, equiv := admissionregistrationv1.Exact, admissionregistrationv1.Equivalent
	served := func(g, v, r string) (string, bool) {
		return "Widget", g == "example.com" && r == "widgets" && (v == "v1" || v == "v2")
	}
	onlyV2 := func(g, v, r string) (string, bool) { return "Widget", v == "v2" }
	tests := []struct {
		name    string
		mp      *admissionregistrationv1.MatchPolicyType
		served  KindResolver
		version string
		ok      bool
	}{
		{"exact policy, other version", &exact, served, "", false},
		{"equivalent: served v1", &equiv, served, "v1", true},
		{"default is equivalent", nil, served, "v1", true},
		{"equivalent, v1 not served", &equiv, onlyV2, "", false},
	}
	for _, tt := range tests {
		v, ok := ruleVersion(rules, tt.mp, req, tt.served)
		if v != tt.version || ok != tt.ok {
			t.Errorf("%s: ruleVersion = %q, %v; want %q, %v", tt.name, v, ok, tt.version, tt.ok)
		}
	}
	// A rule naming the request's version wins.
	rules = append(rules, rule(create, []string{"example.com"}, []string{"v2"}, []string{"widgets"}, "*"))
	if v, ok := ruleVersion(rules, &equiv, req, served); v != "v2" || !ok {
		t.Errorf("exact rule: %q %v", v, ok)
	}
}

func TestSelector(t *testing.T) {
	tests := []struct {
		sel    *metav1.LabelSelector
		labels map[string]string
		want   bool
	}{
		{nil, nil, true},
		{&metav1.LabelSelector{}, map[string]string{"a": "b"}, true},
		{&metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}, map[string]string{"env": "prod"}, true},
		{&metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}, map[string]string{"env": "dev"}, false},
		{&metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}, nil, false},
		{&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "skip", Operator: metav1.LabelSelectorOpDoesNotExist}}}, map[string]string{"a": "b"}, true},
		{&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "skip", Operator: metav1.LabelSelectorOpDoesNotExist}}}, map[string]string{"skip": ""}, false},
	}
	for i, tt := range tests {
		s, err := compileSelector(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.matches(tt.labels); got != tt.want {
			t.Errorf("%d: matches(%v) = %v, want %v", i, tt.labels, got, tt.want)
		}
	}
	if _, err := compileSelector(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}); err == nil {
		t.Error("a bogus operator compiled")
	}
}

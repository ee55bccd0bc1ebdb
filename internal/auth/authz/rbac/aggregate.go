package rbac

import (
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// AggregateClusterRoles computes, for every ClusterRole in all with an
// aggregationRule, the rules it should hold: the rules of the other
// ClusterRoles whose labels match any of its selectors, taken selector by
// selector and, per selector, in name order, each rule once. A matched
// role that is itself aggregated contributes its computed rules, so
// admin ⊇ edit ⊇ view come out in one pass; on a cycle the stored rules
// are used. An invalid selector matches nothing. Roles without an
// aggregationRule are not in the result. nil entries are skipped.
func AggregateClusterRoles(all []*rbacv1.ClusterRole) map[string][]rbacv1.PolicyRule {
	var sorted []*rbacv1.ClusterRole
	for _, cr := range all {
		if cr != nil {
			sorted = append(sorted, cr)
		}
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })

	out := map[string][]rbacv1.PolicyRule{}
	visiting := map[string]bool{}
	var resolve func(cr *rbacv1.ClusterRole) []rbacv1.PolicyRule
	resolve = func(cr *rbacv1.ClusterRole) []rbacv1.PolicyRule {
		if cr.AggregationRule == nil {
			return cr.Rules
		}
		if r, ok := out[cr.Name]; ok {
			return r
		}
		if visiting[cr.Name] {
			return cr.Rules
		}
		visiting[cr.Name] = true
		defer delete(visiting, cr.Name)
		rules := []rbacv1.PolicyRule{}
		for i := range cr.AggregationRule.ClusterRoleSelectors {
			sel, err := metav1.LabelSelectorAsSelector(&cr.AggregationRule.ClusterRoleSelectors[i])
			if err != nil || sel.Empty() {
				// An empty selector would match every ClusterRole,
				// cluster-admin included: ignore it (fail closed).
				continue
			}
			for _, other := range sorted {
				if other.Name == cr.Name || !sel.Matches(labels.Set(other.Labels)) {
					continue
				}
				for _, r := range resolve(other) {
					if !containsRule(rules, r) {
						rules = append(rules, *r.DeepCopy())
					}
				}
			}
		}
		out[cr.Name] = rules
		return rules
	}
	for _, cr := range sorted {
		if cr.AggregationRule != nil {
			resolve(cr)
		}
	}
	return out
}

func containsRule(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
	for i := range rules {
		if equality.Semantic.DeepEqual(rules[i], r) {
			return true
		}
	}
	return false
}

package rbac

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
)

// RuleAllows reports whether rule grants the request described by info,
// with Kubernetes' matching: verbs and API groups match exactly or by "*";
// resources match "*", the resource, "resource/subresource" for a
// subresource request, or "*/subresource"; a rule with resourceNames only
// matches requests naming one of them; non-resource URLs match exactly or,
// when the rule's URL ends in "*", by prefix. A nil info matches nothing.
func RuleAllows(info *request.Info, rule *rbacv1.PolicyRule) bool {
	if info == nil || rule == nil || !verbMatches(rule.Verbs, info.Verb) {
		return false
	}
	if info.IsResourceRequest {
		return groupMatches(rule.APIGroups, info.APIGroup) &&
			resourceMatches(rule.Resources, info.Resource, info.Subresource) &&
			nameMatches(rule.ResourceNames, info.Name)
	}
	return urlMatches(rule.NonResourceURLs, info.Path)
}

// RulesAllow reports whether any of rules grants the request.
func RulesAllow(info *request.Info, rules []rbacv1.PolicyRule) bool {
	for i := range rules {
		if RuleAllows(info, &rules[i]) {
			return true
		}
	}
	return false
}

func verbMatches(verbs []string, verb string) bool {
	for _, v := range verbs {
		if v == rbacv1.VerbAll || v == verb {
			return true
		}
	}
	return false
}

func groupMatches(groups []string, group string) bool {
	for _, g := range groups {
		if g == rbacv1.APIGroupAll || g == group {
			return true
		}
	}
	return false
}

func resourceMatches(resources []string, resource, sub string) bool {
	for _, r := range resources {
		if r == rbacv1.ResourceAll {
			return true
		}
		if sub == "" {
			if r == resource {
				return true
			}
			continue
		}
		// "resource/sub" without building the string.
		if len(r) == len(resource)+1+len(sub) && strings.HasPrefix(r, resource) &&
			r[len(resource)] == '/' && strings.HasSuffix(r, sub) {
			return true
		}
		// "*/sub".
		if len(r) == len(sub)+2 && r[0] == '*' && r[1] == '/' && r[2:] == sub {
			return true
		}
	}
	return false
}

func nameMatches(names []string, name string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

func urlMatches(urls []string, path string) bool {
	for _, u := range urls {
		if u == rbacv1.NonResourceAll || u == path {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(path, u[:len(u)-1]) {
			return true
		}
	}
	return false
}

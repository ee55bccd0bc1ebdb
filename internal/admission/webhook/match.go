package webhook

import (
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kastle-dev/kastle/internal/registry"
)

// request is what rule matching looks at.
type reqInfo struct {
	op          admissionregistrationv1.OperationType
	group       string
	version     string
	resource    string
	subresource string
	namespaced  bool
}

// requestOf describes a.
func requestOf(a *registry.Attributes) reqInfo {
	op := admissionregistrationv1.Create
	switch a.Operation {
	case registry.Update:
		op = admissionregistrationv1.Update
	case registry.Delete:
		op = admissionregistrationv1.Delete
	}
	return reqInfo{op: op, group: a.Resource.Group, version: a.Resource.Version, resource: a.Resource.Plural,
		subresource: a.Subresource, namespaced: a.Resource.Namespaced}
}

// ruleMatches reports whether r covers req; exactVersion false ignores the
// version (matchPolicy Equivalent: the same group and resource served in
// another version is the same object).
func ruleMatches(r *admissionregistrationv1.RuleWithOperations, req reqInfo, exactVersion bool) bool {
	if !opMatches(r.Operations, req.op) {
		return false
	}
	if !listMatches(r.APIGroups, req.group) {
		return false
	}
	if exactVersion && !listMatches(r.APIVersions, req.version) {
		return false
	}
	if !resourceMatches(r.Resources, req.resource, req.subresource) {
		return false
	}
	return scopeMatches(r.Scope, req.namespaced)
}

func opMatches(ops []admissionregistrationv1.OperationType, op admissionregistrationv1.OperationType) bool {
	for _, o := range ops {
		if o == admissionregistrationv1.OperationAll || o == op {
			return true
		}
	}
	return false
}

func listMatches(list []string, v string) bool {
	for _, s := range list {
		if s == "*" || s == v {
			return true
		}
	}
	return false
}

// resourceMatches implements the resource forms of a rule: "res" and "*"
// (no subresources), "res/sub", "*/sub", and "res/*" or "*/*" (the
// resource and all its subresources).
func resourceMatches(list []string, res, sub string) bool {
	for _, s := range list {
		name, subPat, _ := strings.Cut(s, "/")
		if (name == "*" || name == res) && (subPat == "*" || subPat == sub) {
			return true
		}
	}
	return false
}

func scopeMatches(scope *admissionregistrationv1.ScopeType, namespaced bool) bool {
	if scope == nil || *scope == admissionregistrationv1.AllScopes {
		return true
	}
	if *scope == admissionregistrationv1.NamespacedScope {
		return namespaced
	}
	return !namespaced
}

// ruleVersion decides whether rules cover req and in which version the
// webhook sees the object: the request's own when a rule names it, else
// (matchPolicy Equivalent) another served version of the same group and
// resource that a rule names. served nil treats every version as served.
func ruleVersion(rules []admissionregistrationv1.RuleWithOperations, mp *admissionregistrationv1.MatchPolicyType, req reqInfo, served KindResolver) (string, bool) {
	for i := range rules {
		if ruleMatches(&rules[i], req, true) {
			return req.version, true
		}
	}
	if mp != nil && *mp == admissionregistrationv1.Exact {
		return "", false
	}
	for i := range rules {
		if !ruleMatches(&rules[i], req, false) {
			continue
		}
		if served == nil {
			return req.version, true
		}
		for _, v := range rules[i].APIVersions {
			if _, ok := served(req.group, v, req.resource); ok && v != req.version {
				return v, true
			}
		}
	}
	return "", false
}

// selector is a compiled label selector; nil matches everything.
type selector struct{ sel labels.Selector }

// compileSelector returns nil for an empty selector (matches all).
func compileSelector(ls *metav1.LabelSelector) (*selector, error) {
	if ls == nil || (len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0) {
		return nil, nil
	}
	s, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, err
	}
	return &selector{sel: s}, nil
}

func (s *selector) matches(l map[string]string) bool {
	return s == nil || s.sel.Matches(labels.Set(l))
}

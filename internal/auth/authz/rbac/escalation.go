package rbac

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// GroupMasters is the group whose members may always escalate and bind,
// as in Kubernetes.
const GroupMasters = "system:masters"

// EscalationError reports an attempt to grant permissions the requester
// does not hold. Its message is Kubernetes':
//
//	user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:
//	{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}
type EscalationError struct {
	User   string
	Groups []string
	// Missing are the permissions not held, compacted and sorted.
	Missing []rbacv1.PolicyRule
	// ResolutionErrors are the errors met resolving the requester's own
	// bindings (a binding to a missing role), which may explain Missing.
	ResolutionErrors []error
}

func (e *EscalationError) Error() string {
	lines := make([]string, len(e.Missing))
	for i := range e.Missing {
		lines[i] = CompactString(e.Missing[i])
	}
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s",
		e.User, e.Groups, strings.Join(lines, "\n"))
	if len(e.ResolutionErrors) > 0 {
		msg += fmt.Sprintf("; resolution errors: %v", errors.Join(e.ResolutionErrors...))
	}
	return msg
}

// CompactString renders a rule as Kubernetes does in escalation errors,
// listing only the non-empty fields:
// {APIGroups:["apps"], Resources:["deployments"], Verbs:["create"]}.
func CompactString(r rbacv1.PolicyRule) string {
	var parts []string
	add := func(field string, v []string) {
		if len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%s:%q", field, v))
		}
	}
	add("APIGroups", r.APIGroups)
	add("Resources", r.Resources)
	add("NonResourceURLs", r.NonResourceURLs)
	add("ResourceNames", r.ResourceNames)
	add("Verbs", r.Verbs)
	return "{" + strings.Join(parts, ", ") + "}"
}

// Covers reports whether the owner rules grant everything the servant
// rules grant, with Kubernetes' algorithm: each servant rule is broken
// down into one rule per (API group, resource, resource name, verb) or per
// (non-resource URL, verb), and each piece must be covered by a single
// owner rule. missing lists the pieces no owner rule covers.
func Covers(owner, servant []rbacv1.PolicyRule) (ok bool, missing []rbacv1.PolicyRule) {
	for _, s := range servant {
		for _, piece := range breakdown(s) {
			covered := false
			for i := range owner {
				if ruleCovers(&owner[i], &piece) {
					covered = true
					break
				}
			}
			if !covered {
				missing = append(missing, piece)
			}
		}
	}
	return len(missing) == 0, missing
}

func breakdown(r rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, g := range r.APIGroups {
		for _, res := range r.Resources {
			for _, v := range r.Verbs {
				if len(r.ResourceNames) == 0 {
					out = append(out, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: []string{res}, Verbs: []string{v}})
					continue
				}
				for _, n := range r.ResourceNames {
					out = append(out, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: []string{res},
						ResourceNames: []string{n}, Verbs: []string{v}})
				}
			}
		}
	}
	for _, u := range r.NonResourceURLs {
		for _, v := range r.Verbs {
			out = append(out, rbacv1.PolicyRule{NonResourceURLs: []string{u}, Verbs: []string{v}})
		}
	}
	return out
}

func ruleCovers(owner, sub *rbacv1.PolicyRule) bool {
	verbs := has(owner.Verbs, rbacv1.VerbAll) || hasAll(owner.Verbs, sub.Verbs)
	groups := has(owner.APIGroups, rbacv1.APIGroupAll) || hasAll(owner.APIGroups, sub.APIGroups)
	resources := resourcesCover(owner.Resources, sub.Resources)
	urls := urlsCover(owner.NonResourceURLs, sub.NonResourceURLs)
	names := len(owner.ResourceNames) == 0 || (len(sub.ResourceNames) > 0 && hasAll(owner.ResourceNames, sub.ResourceNames))
	return verbs && groups && resources && urls && names
}

func has(set []string, v string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

func hasAll(set, want []string) bool {
	for _, w := range want {
		if !has(set, w) {
			return false
		}
	}
	return true
}

func resourcesCover(owner, want []string) bool {
	if has(owner, rbacv1.ResourceAll) {
		return true
	}
	for _, w := range want {
		if has(owner, w) {
			continue
		}
		// "*/status" in the owner covers "pods/status".
		if i := strings.Index(w, "/"); i >= 0 && has(owner, "*"+w[i:]) {
			continue
		}
		return false
	}
	return true
}

func urlsCover(owner, want []string) bool {
	for _, w := range want {
		ok := false
		for _, o := range owner {
			if o == w || (strings.HasSuffix(o, "*") && strings.HasPrefix(w, o[:len(o)-1])) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// compact merges pieces that differ only in their verbs and sorts the
// result by its compact string.
func compact(pieces []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	type key struct{ group, resource, name, url string }
	idx := map[key]int{}
	var out []rbacv1.PolicyRule
	for _, p := range pieces {
		var k key
		if len(p.NonResourceURLs) == 1 {
			k.url = p.NonResourceURLs[0]
		} else if len(p.APIGroups) == 1 && len(p.Resources) == 1 {
			k.group, k.resource = p.APIGroups[0], p.Resources[0]
			if len(p.ResourceNames) == 1 {
				k.name = p.ResourceNames[0]
			}
		} else {
			out = append(out, p)
			continue
		}
		if i, ok := idx[k]; ok {
			for _, v := range p.Verbs {
				if !has(out[i].Verbs, v) {
					out[i].Verbs = append(out[i].Verbs, v)
				}
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, *p.DeepCopy())
	}
	sort.SliceStable(out, func(i, j int) bool { return CompactString(out[i]) < CompactString(out[j]) })
	return out
}

// ConfirmNoEscalation returns nil when u already holds, in namespace ("" =
// cluster-wide bindings only), every permission that rules grant;
// otherwise an *EscalationError naming the missing permissions. This is
// the check Kubernetes applies when a user without "escalate" writes a
// role, or without "bind" writes a binding. A nil user is an error.
func (a *Authorizer) ConfirmNoEscalation(u *user.Info, namespace string, rules []rbacv1.PolicyRule) error {
	if u == nil {
		return errors.New("rbac: no user to check for escalation")
	}
	own, errs := a.rules(u, namespace)
	if ok, missing := Covers(own, rules); !ok {
		return &EscalationError{User: u.Name, Groups: u.Groups, Missing: compact(missing), ResolutionErrors: errs}
	}
	return nil
}

func inMasters(u *user.Info) bool { return has(u.Groups, GroupMasters) }

// CanEscalate reports whether az lets u use the verb "escalate" on roles
// (resource "roles" or "clusterroles") named name in namespace, or u is
// in system:masters. A nil authorizer or user is an error.
func CanEscalate(ctx context.Context, az authz.Authorizer, u *user.Info, resource, namespace, name string) (bool, error) {
	return permitted(ctx, az, u, "escalate", resource, namespace, name)
}

// CanBind reports whether az lets u use the verb "bind" on the role that
// roleRef names, from a binding in namespace ("" for a
// ClusterRoleBinding), or u is in system:masters. A nil authorizer or user
// is an error.
func CanBind(ctx context.Context, az authz.Authorizer, u *user.Info, roleRef rbacv1.RoleRef, namespace string) (bool, error) {
	var resource string
	switch roleRef.Kind {
	case "Role":
		resource = "roles"
	case "ClusterRole":
		resource = "clusterroles"
	default:
		return false, fmt.Errorf("rbac: unsupported role kind %q", roleRef.Kind)
	}
	return permitted(ctx, az, u, "bind", resource, namespace, roleRef.Name)
}

func permitted(ctx context.Context, az authz.Authorizer, u *user.Info, verb, resource, namespace, name string) (bool, error) {
	if az == nil || u == nil {
		return false, errors.New("rbac: nil authorizer or user")
	}
	if inMasters(u) {
		return true, nil
	}
	d, _, err := az.Authorize(ctx, authz.Attributes{User: u, Info: requestInfoFor(verb, resource, namespace, name)})
	if err != nil {
		return false, err
	}
	return d == authz.Allow, nil
}

// ErrAggregationRuleForbidden is returned by CheckRoleWrite when a user
// without "escalate" and without full rights writes a ClusterRole with an
// aggregationRule.
var ErrAggregationRuleForbidden = errors.New("must have cluster-admin privileges to use the aggregationRule")

// fullAuthority is every permission there is: what an aggregated
// ClusterRole may come to hold once the aggregation controller copies in
// the rules of every ClusterRole its selectors match.
var fullAuthority = []rbacv1.PolicyRule{
	{Verbs: []string{rbacv1.VerbAll}, APIGroups: []string{rbacv1.APIGroupAll}, Resources: []string{rbacv1.ResourceAll}},
	{Verbs: []string{rbacv1.VerbAll}, NonResourceURLs: []string{rbacv1.NonResourceAll}},
}

// CheckRoleWrite decides whether u may create or update obj, a *Role or
// *ClusterRole: allowed when u is in system:masters or az grants
// "escalate" on it; otherwise a ClusterRole with an aggregationRule needs
// u to hold every permission cluster-wide (the aggregation controller
// will copy in the rules of any role its selectors match, so the role is
// bounded by nothing else), and the rules must pass ConfirmNoEscalation.
// A nil result means the write may proceed; an *EscalationError or
// ErrAggregationRuleForbidden means 403.
func (a *Authorizer) CheckRoleWrite(ctx context.Context, az authz.Authorizer, u *user.Info, obj runtime.Object) error {
	var (
		resource, namespace, name string
		rules                     []rbacv1.PolicyRule
		aggregated                bool
	)
	switch o := obj.(type) {
	case *rbacv1.Role:
		if o == nil {
			return errNil
		}
		resource, namespace, name, rules = "roles", o.Namespace, o.Name, o.Rules
	case *rbacv1.ClusterRole:
		if o == nil {
			return errNil
		}
		resource, name, rules = "clusterroles", o.Name, o.Rules
		aggregated = o.AggregationRule != nil && len(o.AggregationRule.ClusterRoleSelectors) > 0
	default:
		return fmt.Errorf("rbac: not a role: %T", obj)
	}
	ok, err := CanEscalate(ctx, az, u, resource, namespace, name)
	if err != nil || ok {
		return err
	}
	if aggregated {
		if err := a.ConfirmNoEscalation(u, "", fullAuthority); err != nil {
			return ErrAggregationRuleForbidden
		}
	}
	return a.ConfirmNoEscalation(u, namespace, rules)
}

// CheckBindingWrite decides whether u may create or update obj, a
// *RoleBinding or *ClusterRoleBinding: allowed when u is in
// system:masters or az grants "bind" on the referenced role; otherwise u
// must already hold every rule of that role (in the binding's namespace).
// A missing role is an error wrapping ErrRoleNotFound.
func (a *Authorizer) CheckBindingWrite(ctx context.Context, az authz.Authorizer, u *user.Info, obj runtime.Object) error {
	var (
		namespace string
		ref       rbacv1.RoleRef
	)
	switch o := obj.(type) {
	case *rbacv1.RoleBinding:
		if o == nil {
			return errNil
		}
		namespace, ref = o.Namespace, o.RoleRef
	case *rbacv1.ClusterRoleBinding:
		if o == nil {
			return errNil
		}
		ref = o.RoleRef
	default:
		return fmt.Errorf("rbac: not a binding: %T", obj)
	}
	ok, err := CanBind(ctx, az, u, ref, namespace)
	if err != nil || ok {
		return err
	}
	rules, err := a.RoleRules(ref, namespace)
	if err != nil {
		return err
	}
	return a.ConfirmNoEscalation(u, namespace, rules)
}

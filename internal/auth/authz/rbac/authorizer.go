package rbac

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// serviceAccountPrefix is how a service account appears as a user name:
// system:serviceaccount:<namespace>:<name>.
const serviceAccountPrefix = "system:serviceaccount:"

// subjectKey identifies a subject in the index. Service account subjects
// are stored under the user name they authenticate as, which is exactly
// how Kubernetes matches them.
type subjectKey struct {
	group bool // false: user name, true: group name
	name  string
}

type nsSubjectKey struct {
	namespace string
	subjectKey
}

type nsName struct{ namespace, name string }

// binding is a RoleBinding or ClusterRoleBinding as the index keeps it.
type binding struct {
	kind      string // "RoleBinding" or "ClusterRoleBinding"
	name      string
	namespace string // "" for a ClusterRoleBinding
	roleRef   rbacv1.RoleRef
	subjects  []rbacv1.Subject
	keys      []subjectKey // keys[i] is subjects[i]'s key; ok[i] false when the subject is unusable
	ok        []bool
}

// Authorizer is the RBAC authorizer. The zero value is not usable; call
// New. It is safe for concurrent use: Upsert and Delete take a write lock,
// decisions a read lock.
type Authorizer struct {
	mu           sync.RWMutex
	roles        map[nsName][]rbacv1.PolicyRule
	clusterRoles map[string][]rbacv1.PolicyRule
	roleBindings map[nsName]*binding
	crBindings   map[string]*binding
	clusterIdx   map[subjectKey][]*binding   // subject → ClusterRoleBindings
	nsIdx        map[nsSubjectKey][]*binding // (namespace, subject) → RoleBindings
}

var _ authz.Authorizer = (*Authorizer)(nil)

// New returns an empty authorizer: it allows nothing until roles and
// bindings are fed to it.
func New() *Authorizer {
	return &Authorizer{
		roles:        map[nsName][]rbacv1.PolicyRule{},
		clusterRoles: map[string][]rbacv1.PolicyRule{},
		roleBindings: map[nsName]*binding{},
		crBindings:   map[string]*binding{},
		clusterIdx:   map[subjectKey][]*binding{},
		nsIdx:        map[nsSubjectKey][]*binding{},
	}
}

// Upsert adds or replaces a *rbacv1.Role, *rbacv1.ClusterRole,
// *rbacv1.RoleBinding or *rbacv1.ClusterRoleBinding (identified by
// namespace and name). The object is copied. Any other type, or a nil
// object, is an error and changes nothing.
func (a *Authorizer) Upsert(obj runtime.Object) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch o := obj.(type) {
	case *rbacv1.Role:
		if o == nil {
			return errNil
		}
		a.roles[nsName{o.Namespace, o.Name}] = copyRules(o.Rules)
	case *rbacv1.ClusterRole:
		if o == nil {
			return errNil
		}
		a.clusterRoles[o.Name] = copyRules(o.Rules)
	case *rbacv1.RoleBinding:
		if o == nil {
			return errNil
		}
		k := nsName{o.Namespace, o.Name}
		if old := a.roleBindings[k]; old != nil {
			a.unindex(old)
		}
		b := newBinding("RoleBinding", o.Namespace, o.Name, o.RoleRef, o.Subjects)
		a.roleBindings[k] = b
		a.index(b)
	case *rbacv1.ClusterRoleBinding:
		if o == nil {
			return errNil
		}
		if old := a.crBindings[o.Name]; old != nil {
			a.unindex(old)
		}
		b := newBinding("ClusterRoleBinding", "", o.Name, o.RoleRef, o.Subjects)
		a.crBindings[o.Name] = b
		a.index(b)
	default:
		return fmt.Errorf("rbac: cannot index an object of type %T", obj)
	}
	return nil
}

// Delete removes the object with obj's kind, namespace and name. Deleting
// an object that is not present is not an error; a nil object or another
// type is.
func (a *Authorizer) Delete(obj runtime.Object) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch o := obj.(type) {
	case *rbacv1.Role:
		if o == nil {
			return errNil
		}
		delete(a.roles, nsName{o.Namespace, o.Name})
	case *rbacv1.ClusterRole:
		if o == nil {
			return errNil
		}
		delete(a.clusterRoles, o.Name)
	case *rbacv1.RoleBinding:
		if o == nil {
			return errNil
		}
		k := nsName{o.Namespace, o.Name}
		if old := a.roleBindings[k]; old != nil {
			a.unindex(old)
			delete(a.roleBindings, k)
		}
	case *rbacv1.ClusterRoleBinding:
		if o == nil {
			return errNil
		}
		if old := a.crBindings[o.Name]; old != nil {
			a.unindex(old)
			delete(a.crBindings, o.Name)
		}
	default:
		return fmt.Errorf("rbac: cannot delete an object of type %T", obj)
	}
	return nil
}

var errNil = errors.New("rbac: nil object")

func copyRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, len(rules))
	for i := range rules {
		rules[i].DeepCopyInto(&out[i])
	}
	return out
}

func newBinding(kind, namespace, name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject) *binding {
	b := &binding{kind: kind, name: name, namespace: namespace, roleRef: ref,
		subjects: make([]rbacv1.Subject, len(subjects)),
		keys:     make([]subjectKey, len(subjects)),
		ok:       make([]bool, len(subjects)),
	}
	for i, s := range subjects {
		b.subjects[i] = s
		switch s.Kind {
		case rbacv1.UserKind:
			b.keys[i], b.ok[i] = subjectKey{name: s.Name}, s.Name != ""
		case rbacv1.GroupKind:
			b.keys[i], b.ok[i] = subjectKey{group: true, name: s.Name}, s.Name != ""
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				// A RoleBinding's service account subject defaults to
				// the binding's namespace.
				ns = namespace
				b.subjects[i].Namespace = ns
			}
			b.keys[i] = subjectKey{name: serviceAccountPrefix + ns + ":" + s.Name}
			b.ok[i] = ns != "" && s.Name != ""
		}
	}
	return b
}

func (a *Authorizer) index(b *binding) {
	for i, k := range b.keys {
		if !b.ok[i] || containsKey(b.keys[:i], b.ok[:i], k) {
			continue
		}
		if b.kind == "ClusterRoleBinding" {
			a.clusterIdx[k] = append(a.clusterIdx[k], b)
		} else {
			nk := nsSubjectKey{b.namespace, k}
			a.nsIdx[nk] = append(a.nsIdx[nk], b)
		}
	}
}

func (a *Authorizer) unindex(b *binding) {
	for i, k := range b.keys {
		if !b.ok[i] || containsKey(b.keys[:i], b.ok[:i], k) {
			continue
		}
		if b.kind == "ClusterRoleBinding" {
			if l := removeBinding(a.clusterIdx[k], b); len(l) == 0 {
				delete(a.clusterIdx, k)
			} else {
				a.clusterIdx[k] = l
			}
		} else {
			nk := nsSubjectKey{b.namespace, k}
			if l := removeBinding(a.nsIdx[nk], b); len(l) == 0 {
				delete(a.nsIdx, nk)
			} else {
				a.nsIdx[nk] = l
			}
		}
	}
}

func containsKey(keys []subjectKey, ok []bool, k subjectKey) bool {
	for i := range keys {
		if ok[i] && keys[i] == k {
			return true
		}
	}
	return false
}

func removeBinding(l []*binding, b *binding) []*binding {
	for i := range l {
		if l[i] == b {
			last := len(l) - 1
			l[i] = l[last]
			l[last] = nil
			return l[:last]
		}
	}
	return l
}

// rulesOf resolves b's role reference. The caller holds the lock.
func (a *Authorizer) rulesOf(b *binding) ([]rbacv1.PolicyRule, error) {
	switch {
	case b.roleRef.APIGroup != rbacv1.GroupName && b.roleRef.APIGroup != "":
		return nil, fmt.Errorf("%s %q refers to a role in API group %q", b.kind, b.name, b.roleRef.APIGroup)
	case b.roleRef.Kind == "ClusterRole":
		if r, ok := a.clusterRoles[b.roleRef.Name]; ok {
			return r, nil
		}
		return nil, fmt.Errorf("clusterrole.rbac.authorization.k8s.io %q not found", b.roleRef.Name)
	case b.roleRef.Kind == "Role" && b.kind == "RoleBinding":
		if r, ok := a.roles[nsName{b.namespace, b.roleRef.Name}]; ok {
			return r, nil
		}
		return nil, fmt.Errorf("role.rbac.authorization.k8s.io %q not found", b.roleRef.Name)
	}
	return nil, fmt.Errorf("%s %q refers to an unsupported role kind %q", b.kind, b.name, b.roleRef.Kind)
}

// visit calls fn with every binding that applies to u in namespace (only
// ClusterRoleBindings when namespace is ""), ClusterRoleBindings first,
// and the key by which it matched. It stops when fn returns false. The
// caller holds the lock.
func (a *Authorizer) visit(u *user.Info, namespace string, fn func(b *binding, k subjectKey) bool) {
	keys := func(f func(k subjectKey) bool) bool {
		if u.Name != "" && !f(subjectKey{name: u.Name}) {
			return false
		}
		for _, g := range u.Groups {
			if !f(subjectKey{group: true, name: g}) {
				return false
			}
		}
		return true
	}
	cont := keys(func(k subjectKey) bool {
		for _, b := range a.clusterIdx[k] {
			if !fn(b, k) {
				return false
			}
		}
		return true
	})
	if !cont || namespace == "" {
		return
	}
	keys(func(k subjectKey) bool {
		for _, b := range a.nsIdx[nsSubjectKey{namespace, k}] {
			if !fn(b, k) {
				return false
			}
		}
		return true
	})
}

// Authorize allows the request when a rule of a role bound to the user
// (directly, through a group, or as a service account) grants it:
// ClusterRoleBindings anywhere, RoleBindings only in their namespace. It
// never denies. The reason names the binding, role and subject that
// allowed the request; when nothing allowed it, the reason is empty unless
// a binding referred to a missing role. A request without user or request
// info is an error.
func (a *Authorizer) Authorize(_ context.Context, attrs authz.Attributes) (authz.Decision, string, error) {
	if attrs.User == nil || attrs.Info == nil {
		return authz.NoOpinion, "", errors.New("rbac: request has no user or no request info")
	}
	info := attrs.Info
	ns := ""
	if info.IsResourceRequest {
		ns = info.Namespace
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	var (
		allowedBy *binding
		allowKey  subjectKey
		errs      []string
	)
	a.visit(attrs.User, ns, func(b *binding, k subjectKey) bool {
		rules, err := a.rulesOf(b)
		if err != nil {
			errs = append(errs, err.Error())
			return true
		}
		if RulesAllow(info, rules) {
			allowedBy, allowKey = b, k
			return false
		}
		return true
	})
	if allowedBy != nil {
		return authz.Allow, describe(allowedBy, allowKey), nil
	}
	switch len(errs) {
	case 0:
		return authz.NoOpinion, "", nil
	case 1:
		return authz.NoOpinion, "RBAC: " + errs[0], nil
	}
	return authz.NoOpinion, "RBAC: [" + strings.Join(errs, ", ") + "]", nil
}

// describe renders `ClusterRoleBinding "x" of ClusterRole "y" to User "z"`
// (RoleBindings as "name/namespace", service accounts as
// ServiceAccount "name/namespace"), as Kubernetes does.
func describe(b *binding, k subjectKey) string {
	buf := make([]byte, 0, 128)
	buf = append(buf, "RBAC: allowed by "...)
	buf = append(buf, b.kind...)
	buf = append(buf, ' ')
	if b.namespace != "" {
		buf = strconv.AppendQuote(buf, b.name+"/"+b.namespace)
	} else {
		buf = strconv.AppendQuote(buf, b.name)
	}
	buf = append(buf, " of "...)
	buf = append(buf, b.roleRef.Kind...)
	buf = append(buf, ' ')
	buf = strconv.AppendQuote(buf, b.roleRef.Name)
	buf = append(buf, " to "...)
	for i, s := range b.subjects {
		if b.ok[i] && b.keys[i] == k {
			buf = append(buf, s.Kind...)
			buf = append(buf, ' ')
			if s.Kind == rbacv1.ServiceAccountKind {
				buf = strconv.AppendQuote(buf, s.Name+"/"+s.Namespace)
			} else {
				buf = strconv.AppendQuote(buf, s.Name)
			}
			break
		}
	}
	return string(buf)
}

// rules returns every rule granted to u in namespace ("" for cluster-wide
// rules only), each binding counted once, and the errors met resolving
// role references.
func (a *Authorizer) rules(u *user.Info, namespace string) ([]rbacv1.PolicyRule, []error) {
	var (
		out  []rbacv1.PolicyRule
		errs []error
		seen = map[*binding]bool{}
	)
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.visit(u, namespace, func(b *binding, _ subjectKey) bool {
		if seen[b] {
			return true
		}
		seen[b] = true
		r, err := a.rulesOf(b)
		if err != nil {
			errs = append(errs, err)
			return true
		}
		out = append(out, copyRules(r)...)
		return true
	})
	return out, errs
}

// RulesFor lists what u may do in namespace, for SelfSubjectRulesReview:
// the rules of every ClusterRoleBinding and of the RoleBindings in
// namespace that name u. incomplete is true when a binding refers to a
// role that does not exist (or u is nil), as Kubernetes reports it.
func (a *Authorizer) RulesFor(u *user.Info, namespace string) ([]authorizationv1.ResourceRule, []authorizationv1.NonResourceRule, bool) {
	if u == nil {
		return nil, nil, true
	}
	rules, errs := a.rules(u, namespace)
	var (
		res    []authorizationv1.ResourceRule
		nonRes []authorizationv1.NonResourceRule
	)
	for _, r := range rules {
		if len(r.Resources) > 0 {
			res = append(res, authorizationv1.ResourceRule{
				Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames,
			})
		}
		if len(r.NonResourceURLs) > 0 {
			nonRes = append(nonRes, authorizationv1.NonResourceRule{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
		}
	}
	return res, nonRes, len(errs) > 0
}

// RoleRules returns a copy of the rules of the role roleRef names, as seen
// from a binding in namespace ("" for a ClusterRoleBinding). A missing role
// is an error wrapping ErrRoleNotFound.
func (a *Authorizer) RoleRules(roleRef rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	switch roleRef.Kind {
	case "ClusterRole":
		if r, ok := a.clusterRoles[roleRef.Name]; ok {
			return copyRules(r), nil
		}
		return nil, fmt.Errorf("clusterrole.rbac.authorization.k8s.io %q: %w", roleRef.Name, ErrRoleNotFound)
	case "Role":
		if namespace == "" {
			return nil, fmt.Errorf("a ClusterRoleBinding cannot refer to Role %q", roleRef.Name)
		}
		if r, ok := a.roles[nsName{namespace, roleRef.Name}]; ok {
			return copyRules(r), nil
		}
		return nil, fmt.Errorf("role.rbac.authorization.k8s.io %q: %w", roleRef.Name, ErrRoleNotFound)
	}
	return nil, fmt.Errorf("unsupported role kind %q", roleRef.Kind)
}

// ErrRoleNotFound is wrapped by errors about role references that name no
// existing role.
var ErrRoleNotFound = errors.New("not found")

// requestInfoFor is the request an escalate or bind check asks about.
func requestInfoFor(verb, resource, namespace, name string) *request.Info {
	return &request.Info{IsResourceRequest: true, Verb: verb, APIGroup: rbacv1.GroupName, APIVersion: "*",
		Namespace: namespace, Resource: resource, Name: name}
}

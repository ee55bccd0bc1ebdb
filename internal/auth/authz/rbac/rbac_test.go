package rbac

import (
	"context"
	"errors"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

func res(verb, group, resource, sub, ns, name string) *request.Info {
	return &request.Info{IsResourceRequest: true, Verb: verb, APIGroup: group, APIVersion: "v1",
		Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func nonRes(verb, path string) *request.Info { return &request.Info{Verb: verb, Path: path} }

func rule(verbs, groups, resources []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources}
}

func l(s ...string) []string { return s }

func TestRuleAllows(t *testing.T) {
	tests := []struct {
		name string
		rule rbacv1.PolicyRule
		info *request.Info
		want bool
	}{
		{"exact", rule(l("get"), l(""), l("pods")), res("get", "", "pods", "", "ns", "p"), true},
		{"wrong verb", rule(l("get"), l(""), l("pods")), res("list", "", "pods", "", "ns", ""), false},
		{"verb star", rule(l("*"), l(""), l("pods")), res("delete", "", "pods", "", "ns", "p"), true},
		{"wrong group", rule(l("get"), l(""), l("deployments")), res("get", "apps", "deployments", "", "ns", "d"), false},
		{"group star", rule(l("get"), l("*"), l("deployments")), res("get", "apps", "deployments", "", "ns", "d"), true},
		{"resource star", rule(l("get"), l(""), l("*")), res("get", "", "pods", "status", "ns", "p"), true},
		{"resource does not cover subresource", rule(l("get"), l(""), l("pods")), res("get", "", "pods", "status", "ns", "p"), false},
		{"subresource exact", rule(l("update"), l(""), l("pods/status")), res("update", "", "pods", "status", "ns", "p"), true},
		{"subresource other", rule(l("update"), l(""), l("pods/status")), res("update", "", "pods", "log", "ns", "p"), false},
		{"subresource does not cover resource", rule(l("get"), l(""), l("pods/status")), res("get", "", "pods", "", "ns", "p"), false},
		{"star subresource", rule(l("update"), l("apps"), l("*/scale")), res("update", "apps", "deployments", "scale", "ns", "d"), true},
		{"star subresource not resource", rule(l("update"), l("apps"), l("*/scale")), res("update", "apps", "deployments", "", "ns", "d"), false},
		{"similar name", rule(l("get"), l(""), l("pods/statu")), res("get", "", "pods", "status", "ns", "p"), false},
		{"resource name match", rbacv1.PolicyRule{Verbs: l("get"), APIGroups: l(""), Resources: l("configmaps"), ResourceNames: l("a", "b")}, res("get", "", "configmaps", "", "ns", "b"), true},
		{"resource name miss", rbacv1.PolicyRule{Verbs: l("get"), APIGroups: l(""), Resources: l("configmaps"), ResourceNames: l("a")}, res("get", "", "configmaps", "", "ns", "c"), false},
		{"resource names and list", rbacv1.PolicyRule{Verbs: l("list"), APIGroups: l(""), Resources: l("configmaps"), ResourceNames: l("a")}, res("list", "", "configmaps", "", "ns", ""), false},
		{"url exact", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/healthz")}, nonRes("get", "/healthz"), true},
		{"url exact miss", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/healthz")}, nonRes("get", "/healthz/etcd"), false},
		{"url prefix", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/apis/*")}, nonRes("get", "/apis/apps/v1"), true},
		{"url prefix not parent", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/apis/*")}, nonRes("get", "/apis"), false},
		{"url star", rbacv1.PolicyRule{Verbs: l("*"), NonResourceURLs: l("*")}, nonRes("post", "/anything"), true},
		{"url rule on resource request", rbacv1.PolicyRule{Verbs: l("*"), NonResourceURLs: l("*")}, res("get", "", "pods", "", "", ""), false},
		{"resource rule on url", rule(l("*"), l("*"), l("*")), nonRes("get", "/healthz"), false},
		{"nil info", rule(l("*"), l("*"), l("*")), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RuleAllows(tt.info, &tt.rule); got != tt.want {
				t.Errorf("RuleAllows = %v, want %v", got, tt.want)
			}
		})
	}
}

func meta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

func crole(name string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: meta("", name), Rules: rules}
}

func role(ns, name string, rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: meta(ns, name), Rules: rules}
}

func crb(name, roleName string, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{ObjectMeta: meta("", name),
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName}, Subjects: subjects}
}

func rb(ns, name, kind, roleName string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: meta(ns, name),
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: roleName}, Subjects: subjects}
}

func userS(n string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: n}
}
func groupS(n string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: n}
}
func saS(ns, n string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: n}
}

func mustUpsert(t testing.TB, a *Authorizer, objs ...runtime.Object) {
	t.Helper()
	for _, o := range objs {
		if err := a.Upsert(o); err != nil {
			t.Fatal(err)
		}
	}
}

func fixture(t testing.TB) *Authorizer {
	a := New()
	mustUpsert(t, a,
		crole("cluster-admin", rule(l("*"), l("*"), l("*")), rbacv1.PolicyRule{Verbs: l("*"), NonResourceURLs: l("*")}),
		crole("pod-reader", rule(l("get", "list", "watch"), l(""), l("pods", "pods/log"))),
		crole("node-reader", rule(l("get", "list"), l(""), l("nodes"))),
		crole("health", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/healthz", "/apis/*")}),
		role("dev", "cm-one", rbacv1.PolicyRule{Verbs: l("get", "update"), APIGroups: l(""), Resources: l("configmaps"), ResourceNames: l("one")}),
		role("dev", "scaler", rule(l("update", "patch"), l("apps"), l("*/scale"))),
		crb("admins", "cluster-admin", groupS("system:masters")),
		crb("nodes-read", "node-reader", userS("carol"), saS("kube-system", "watcher")),
		crb("health", "health", groupS("system:authenticated")),
		crb("dangling", "does-not-exist", userS("dave")),
		rb("dev", "pods", "ClusterRole", "pod-reader", userS("alice"), groupS("devs")),
		rb("dev", "cm", "Role", "cm-one", userS("alice")),
		rb("dev", "scale", "Role", "scaler", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "deployer"}),
	)
	return a
}

func TestAuthorize(t *testing.T) {
	a := fixture(t)
	alice := &user.Info{Name: "alice", Groups: l("system:authenticated")}
	bob := &user.Info{Name: "bob", Groups: l("devs", "system:authenticated")}
	root := &user.Info{Name: "root", Groups: l("system:masters")}
	carol := &user.Info{Name: "carol"}
	watcher := &user.Info{Name: "system:serviceaccount:kube-system:watcher", Groups: l("system:serviceaccounts")}
	deployer := &user.Info{Name: "system:serviceaccount:dev:deployer"}
	otherDeployer := &user.Info{Name: "system:serviceaccount:prod:deployer"}
	anon := &user.Info{Name: "system:anonymous", Groups: l("system:unauthenticated")}
	dave := &user.Info{Name: "dave"}
	tests := []struct {
		name   string
		u      *user.Info
		info   *request.Info
		want   authz.Decision
		reason string
	}{
		{"rolebinding to clusterrole in ns", alice, res("get", "", "pods", "", "dev", "p"), authz.Allow,
			`RBAC: allowed by RoleBinding "pods/dev" of ClusterRole "pod-reader" to User "alice"`},
		{"subresource granted", alice, res("get", "", "pods", "log", "dev", "p"), authz.Allow, ""},
		{"subresource not granted", alice, res("get", "", "pods", "exec", "dev", "p"), authz.NoOpinion, ""},
		{"rolebinding not in other ns", alice, res("get", "", "pods", "", "prod", "p"), authz.NoOpinion, ""},
		{"rolebinding not cluster-wide", alice, res("list", "", "pods", "", "", ""), authz.NoOpinion, ""},
		{"write not granted", alice, res("delete", "", "pods", "", "dev", "p"), authz.NoOpinion, ""},
		{"via group", bob, res("list", "", "pods", "", "dev", ""), authz.Allow,
			`RBAC: allowed by RoleBinding "pods/dev" of ClusterRole "pod-reader" to Group "devs"`},
		{"resourceName granted", alice, res("update", "", "configmaps", "", "dev", "one"), authz.Allow, ""},
		{"resourceName other", alice, res("update", "", "configmaps", "", "dev", "two"), authz.NoOpinion, ""},
		{"resourceName list", alice, res("list", "", "configmaps", "", "dev", ""), authz.NoOpinion, ""},
		{"masters", root, res("delete", "apps", "deployments", "", "x", "y"), authz.Allow,
			`RBAC: allowed by ClusterRoleBinding "admins" of ClusterRole "cluster-admin" to Group "system:masters"`},
		{"masters non-resource", root, nonRes("post", "/whatever"), authz.Allow, ""},
		{"cluster binding user", carol, res("list", "", "nodes", "", "", ""), authz.Allow,
			`RBAC: allowed by ClusterRoleBinding "nodes-read" of ClusterRole "node-reader" to User "carol"`},
		{"cluster binding applies in namespaces", carol, res("get", "", "nodes", "", "", "n1"), authz.Allow, ""},
		{"cluster binding verb", carol, res("watch", "", "nodes", "", "", ""), authz.NoOpinion, ""},
		{"service account subject", watcher, res("get", "", "nodes", "", "", "n1"), authz.Allow,
			`RBAC: allowed by ClusterRoleBinding "nodes-read" of ClusterRole "node-reader" to ServiceAccount "watcher/kube-system"`},
		{"service account default namespace", deployer, res("patch", "apps", "deployments", "scale", "dev", "d"), authz.Allow,
			`RBAC: allowed by RoleBinding "scale/dev" of Role "scaler" to ServiceAccount "deployer/dev"`},
		{"service account other namespace", otherDeployer, res("patch", "apps", "deployments", "scale", "dev", "d"), authz.NoOpinion, ""},
		{"star subresource not the resource", deployer, res("patch", "apps", "deployments", "", "dev", "d"), authz.NoOpinion, ""},
		{"non-resource exact", alice, nonRes("get", "/healthz"), authz.Allow, ""},
		{"non-resource prefix", alice, nonRes("get", "/apis/apps"), authz.Allow, ""},
		{"non-resource other", alice, nonRes("get", "/metrics"), authz.NoOpinion, ""},
		{"non-resource verb", alice, nonRes("post", "/healthz"), authz.NoOpinion, ""},
		{"anonymous nothing", anon, nonRes("get", "/healthz"), authz.NoOpinion, ""},
		{"missing role reported", dave, res("get", "", "pods", "", "", ""), authz.NoOpinion,
			`RBAC: clusterrole.rbac.authorization.k8s.io "does-not-exist" not found`},
		{"user name is not a group", &user.Info{Name: "devs"}, res("list", "", "pods", "", "dev", ""), authz.NoOpinion, ""},
		{"group name is not a user", &user.Info{Name: "x", Groups: l("alice")}, res("list", "", "pods", "", "dev", ""), authz.NoOpinion, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, reason, err := a.Authorize(context.Background(), authz.Attributes{User: tt.u, Info: tt.info})
			if err != nil {
				t.Fatal(err)
			}
			if d != tt.want {
				t.Errorf("decision = %v, want %v (reason %q)", d, tt.want, reason)
			}
			if (tt.reason != "" || d != authz.Allow) && reason != tt.reason {
				t.Errorf("reason = %q, want %q", reason, tt.reason)
			}
		})
	}
}

func TestAuthorizeFailsClosed(t *testing.T) {
	a := fixture(t)
	for _, attrs := range []authz.Attributes{{}, {User: &user.Info{Name: "x"}}, {Info: nonRes("get", "/")}} {
		if d, _, err := a.Authorize(context.Background(), attrs); err == nil || d == authz.Allow {
			t.Errorf("Authorize(%+v) = %v, %v; want an error", attrs, d, err)
		}
	}
	if err := a.Upsert(nil); err == nil {
		t.Error("Upsert(nil) succeeded")
	}
	if err := a.Upsert((*rbacv1.Role)(nil)); err == nil {
		t.Error("Upsert(typed nil) succeeded")
	}
	if err := a.Delete(&rbacv1.RoleList{}); err == nil {
		t.Error("Delete(list) succeeded")
	}
}

func TestUpsertDelete(t *testing.T) {
	a := New()
	ctx := context.Background()
	get := res("get", "", "pods", "", "dev", "p")
	decide := func(u string) authz.Decision {
		d, _, err := a.Authorize(ctx, authz.Attributes{User: &user.Info{Name: u}, Info: get})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	steps := []struct {
		name   string
		upsert runtime.Object
		delete runtime.Object
		alice  authz.Decision
		bob    authz.Decision
	}{
		{"binding before role", rb("dev", "b", "Role", "r", userS("alice")), nil, authz.NoOpinion, authz.NoOpinion},
		{"role arrives", role("dev", "r", rule(l("get"), l(""), l("pods"))), nil, authz.Allow, authz.NoOpinion},
		{"subjects replaced", rb("dev", "b", "Role", "r", userS("bob")), nil, authz.NoOpinion, authz.Allow},
		{"duplicate subject", rb("dev", "b", "Role", "r", userS("bob"), userS("bob")), nil, authz.NoOpinion, authz.Allow},
		{"role narrowed", role("dev", "r", rule(l("list"), l(""), l("pods"))), nil, authz.NoOpinion, authz.NoOpinion},
		{"role widened", role("dev", "r", rule(l("get"), l(""), l("pods"))), nil, authz.NoOpinion, authz.Allow},
		{"binding deleted", nil, rb("dev", "b", "", ""), authz.NoOpinion, authz.NoOpinion},
		{"binding back", rb("dev", "b", "Role", "r", userS("alice"), userS("bob")), nil, authz.Allow, authz.Allow},
		{"role deleted", nil, role("dev", "r"), authz.NoOpinion, authz.NoOpinion},
	}
	for _, s := range steps {
		if s.upsert != nil {
			mustUpsert(t, a, s.upsert)
		}
		if s.delete != nil {
			if err := a.Delete(s.delete); err != nil {
				t.Fatal(err)
			}
		}
		if got := decide("alice"); got != s.alice {
			t.Errorf("%s: alice = %v, want %v", s.name, got, s.alice)
		}
		if got := decide("bob"); got != s.bob {
			t.Errorf("%s: bob = %v, want %v", s.name, got, s.bob)
		}
	}
	if err := a.Delete(rb("dev", "b", "", "")); err != nil {
		t.Fatal(err)
	}
	if len(a.nsIdx) != 0 || len(a.clusterIdx) != 0 {
		t.Errorf("index not empty after deletes: %v %v", a.nsIdx, a.clusterIdx)
	}
}

func TestRulesFor(t *testing.T) {
	a := fixture(t)
	tests := []struct {
		name        string
		u           *user.Info
		ns          string
		res, nonRes int
		incomplete  bool
	}{
		{"alice in dev", &user.Info{Name: "alice", Groups: l("system:authenticated")}, "dev", 2, 1, false},
		{"alice cluster", &user.Info{Name: "alice", Groups: l("system:authenticated")}, "", 0, 1, false},
		{"root", &user.Info{Name: "root", Groups: l("system:masters")}, "x", 1, 1, false},
		{"dave", &user.Info{Name: "dave"}, "", 0, 0, true},
		{"nil", nil, "", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, n, inc := a.RulesFor(tt.u, tt.ns)
			if len(r) != tt.res || len(n) != tt.nonRes || inc != tt.incomplete {
				t.Errorf("RulesFor = %d resource, %d non-resource, incomplete %v; want %d, %d, %v (%v %v)",
					len(r), len(n), inc, tt.res, tt.nonRes, tt.incomplete, r, n)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	all := rule(l("*"), l("*"), l("*"))
	tests := []struct {
		name           string
		owner, servant []rbacv1.PolicyRule
		want           bool
	}{
		{"star covers all", []rbacv1.PolicyRule{all}, []rbacv1.PolicyRule{rule(l("get"), l("apps"), l("deployments/scale"))}, true},
		{"exact", []rbacv1.PolicyRule{rule(l("get", "list"), l(""), l("pods"))}, []rbacv1.PolicyRule{rule(l("get"), l(""), l("pods"))}, true},
		{"split over rules", []rbacv1.PolicyRule{rule(l("get"), l(""), l("pods")), rule(l("list"), l(""), l("pods"))},
			[]rbacv1.PolicyRule{rule(l("get", "list"), l(""), l("pods"))}, true},
		{"verb missing", []rbacv1.PolicyRule{rule(l("get"), l(""), l("pods"))}, []rbacv1.PolicyRule{rule(l("get", "delete"), l(""), l("pods"))}, false},
		{"verb star needs star", []rbacv1.PolicyRule{rule(l("get", "list"), l(""), l("pods"))}, []rbacv1.PolicyRule{rule(l("*"), l(""), l("pods"))}, false},
		{"resource does not cover subresource", []rbacv1.PolicyRule{rule(l("get"), l(""), l("pods"))}, []rbacv1.PolicyRule{rule(l("get"), l(""), l("pods/exec"))}, false},
		{"star subresource covers", []rbacv1.PolicyRule{rule(l("get"), l(""), l("*/status"))}, []rbacv1.PolicyRule{rule(l("get"), l(""), l("pods/status"))}, true},
		{"names covered by no names", []rbacv1.PolicyRule{rule(l("get"), l(""), l("secrets"))},
			[]rbacv1.PolicyRule{{Verbs: l("get"), APIGroups: l(""), Resources: l("secrets"), ResourceNames: l("a")}}, true},
		{"no names not covered by names", []rbacv1.PolicyRule{{Verbs: l("get"), APIGroups: l(""), Resources: l("secrets"), ResourceNames: l("a")}},
			[]rbacv1.PolicyRule{rule(l("get"), l(""), l("secrets"))}, false},
		{"names subset", []rbacv1.PolicyRule{{Verbs: l("get"), APIGroups: l(""), Resources: l("secrets"), ResourceNames: l("a", "b")}},
			[]rbacv1.PolicyRule{{Verbs: l("get"), APIGroups: l(""), Resources: l("secrets"), ResourceNames: l("b")}}, true},
		{"url prefix covers", []rbacv1.PolicyRule{{Verbs: l("get"), NonResourceURLs: l("/apis/*")}},
			[]rbacv1.PolicyRule{{Verbs: l("get"), NonResourceURLs: l("/apis/apps", "/apis/x/*")}}, true},
		{"url not covered", []rbacv1.PolicyRule{{Verbs: l("get"), NonResourceURLs: l("/apis/*")}},
			[]rbacv1.PolicyRule{{Verbs: l("get"), NonResourceURLs: l("/api")}}, false},
		{"resource rules do not cover urls", []rbacv1.PolicyRule{all}, []rbacv1.PolicyRule{{Verbs: l("get"), NonResourceURLs: l("/healthz")}}, false},
		{"empty servant", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, missing := Covers(tt.owner, tt.servant); got != tt.want {
				t.Errorf("Covers = %v (missing %v), want %v", got, missing, tt.want)
			}
		})
	}
}

// allowOnly is an authorizer allowing exactly the listed "verb resource
// name" triples, to test the escalate and bind paths.
type allowOnly map[string]bool

func (o allowOnly) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	if o[a.Info.Verb+" "+a.Info.Resource+" "+a.Info.Namespace+"/"+a.Info.Name] {
		return authz.Allow, "", nil
	}
	return authz.NoOpinion, "", nil
}

func TestEscalation(t *testing.T) {
	a := fixture(t)
	ctx := context.Background()
	alice := &user.Info{Name: "alice", Groups: l("system:authenticated")}
	root := &user.Info{Name: "root", Groups: l("system:masters")}
	podRead := rule(l("get", "list"), l(""), l("pods"))
	secretRead := rule(l("get"), l(""), l("secrets"))
	tests := []struct {
		name    string
		u       *user.Info
		az      authz.Authorizer
		binding bool
		obj     runtime.Object
		wantErr string // "" = allowed
	}{
		{"role within own rules", alice, a, false, role("dev", "r", podRead), ""},
		{"role in other namespace", alice, a, false, role("prod", "r", podRead),
			"user \"alice\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"get\" \"list\"]}"},
		{"role with more", alice, a, false, role("dev", "r", podRead, secretRead),
			"{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\"]}"},
		{"role with escalate", alice, allowOnly{"escalate roles dev/r": true}, false, role("dev", "r", secretRead), ""},
		{"escalate elsewhere does not help", alice, allowOnly{"escalate roles dev/other": true}, false, role("dev", "r", secretRead), "not currently held"},
		{"clusterrole with more", alice, a, false, crole("c", podRead), "not currently held"},
		{"aggregated clusterrole needs escalate", alice, a, false,
			&rbacv1.ClusterRole{ObjectMeta: meta("", "agg"), AggregationRule: &rbacv1.AggregationRule{
				ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"x": "y"}}}}}, "aggregationRule"},
		{"masters escalate", root, a, false, crole("c", rule(l("*"), l("*"), l("*"))), ""},
		{"bind own role", alice, a, true, rb("dev", "b", "ClusterRole", "pod-reader", userS("eve")), ""},
		{"bind role not held", alice, a, true, rb("dev", "b", "ClusterRole", "node-reader", userS("eve")), "Resources:[\"nodes\"]"},
		{"bind cluster-wide not held", alice, a, true, crb("b", "pod-reader", userS("eve")), "not currently held"},
		{"bind verb", alice, allowOnly{"bind clusterroles dev/node-reader": true}, true, rb("dev", "b", "ClusterRole", "node-reader", userS("eve")), ""},
		{"bind verb wrong namespace", alice, allowOnly{"bind clusterroles prod/node-reader": true}, true, rb("dev", "b", "ClusterRole", "node-reader", userS("eve")), "not currently held"},
		{"bind missing role", alice, a, true, rb("dev", "b", "Role", "ghost", userS("eve")), "not found"},
		{"masters bind", root, a, true, crb("b", "cluster-admin", userS("eve")), ""},
		{"nil authorizer", alice, nil, true, rb("dev", "b", "ClusterRole", "pod-reader", userS("eve")), "nil authorizer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.binding {
				err = a.CheckBindingWrite(ctx, tt.az, tt.u, tt.obj)
			} else {
				err = a.CheckRoleWrite(ctx, tt.az, tt.u, tt.obj)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	// An aggregated ClusterRole may come to hold anything: without
	// escalate, only a requester holding every permission may write one.
	agg := &rbacv1.ClusterRole{ObjectMeta: meta("", "agg"), AggregationRule: &rbacv1.AggregationRule{
		ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"x": "y"}}}}}
	b := fixture(t)
	mustUpsert(t, b,
		crole("all-resources", rule(l("*"), l("*"), l("*"))),
		crb("ops", "cluster-admin", userS("ops")),
		crb("almost", "all-resources", userS("almost")),
	)
	for _, tc := range []struct {
		u   *user.Info
		az  authz.Authorizer
		err error
	}{
		{&user.Info{Name: "ops"}, allowOnly{}, nil},
		{&user.Info{Name: "almost"}, allowOnly{}, ErrAggregationRuleForbidden},
		{alice, allowOnly{}, ErrAggregationRuleForbidden},
		{alice, allowOnly{"escalate clusterroles /agg": true}, nil},
	} {
		if err := b.CheckRoleWrite(ctx, tc.az, tc.u, agg); !errors.Is(err, tc.err) {
			t.Errorf("%s writes an aggregated role: %v, want %v", tc.u.Name, err, tc.err)
		}
	}

	err := a.CheckBindingWrite(ctx, a, alice, rb("dev", "b", "Role", "ghost"))
	if !errors.Is(err, ErrRoleNotFound) {
		t.Errorf("missing role error %v does not wrap ErrRoleNotFound", err)
	}
	var esc *EscalationError
	if err := a.ConfirmNoEscalation(alice, "dev", []rbacv1.PolicyRule{secretRead, rule(l("list"), l(""), l("secrets"))}); !errors.As(err, &esc) ||
		len(esc.Missing) != 1 || strings.Join(esc.Missing[0].Verbs, ",") != "get,list" {
		t.Errorf("ConfirmNoEscalation = %v; want one compacted missing rule", err)
	}
	if err := a.ConfirmNoEscalation(nil, "", nil); err == nil {
		t.Error("nil user accepted")
	}
}

func TestAggregateClusterRoles(t *testing.T) {
	sel := func(k string) *rbacv1.AggregationRule {
		return &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{k: "true"}}}}
	}
	withLabels := func(cr *rbacv1.ClusterRole, kv ...string) *rbacv1.ClusterRole {
		cr.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			cr.Labels[kv[i]] = kv[i+1]
		}
		return cr
	}
	podRead := rule(l("get"), l(""), l("pods"))
	podWrite := rule(l("create"), l(""), l("pods"))
	roles := []*rbacv1.ClusterRole{
		{ObjectMeta: meta("", "admin"), AggregationRule: sel("to-admin")},
		withLabels(&rbacv1.ClusterRole{ObjectMeta: meta("", "edit"), AggregationRule: sel("to-edit")}, "to-admin", "true"),
		withLabels(&rbacv1.ClusterRole{ObjectMeta: meta("", "view"), AggregationRule: sel("to-view")}, "to-edit", "true"),
		withLabels(crole("part-view", podRead), "to-view", "true"),
		withLabels(crole("part-edit", podWrite, podRead), "to-edit", "true"),
		withLabels(crole("unrelated", rule(l("*"), l("*"), l("*"))), "to-view", "false"),
		{ObjectMeta: meta("", "empty-selector"), AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{}}}},
		nil,
	}
	got := AggregateClusterRoles(roles)
	want := map[string][]rbacv1.PolicyRule{
		"view":           {podRead},
		"edit":           {podWrite, podRead},
		"admin":          {podWrite, podRead},
		"empty-selector": {},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d aggregated roles, want %d: %v", len(got), len(want), got)
	}
	for name, w := range want {
		g := got[name]
		if len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", name, g, w)
			continue
		}
		for i := range w {
			if CompactString(g[i]) != CompactString(w[i]) {
				t.Errorf("%s[%d] = %s, want %s", name, i, CompactString(g[i]), CompactString(w[i]))
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	a := fixture(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			b := rb("dev", "churn", "ClusterRole", "pod-reader", userS("eve"))
			if i%2 == 0 {
				mustUpsert(t, a, b)
			} else if err := a.Delete(b); err != nil {
				t.Error(err)
			}
		}
	}()
	eve := &user.Info{Name: "eve"}
	for range 200 {
		if _, _, err := a.Authorize(context.Background(), authz.Attributes{User: eve, Info: res("get", "", "pods", "", "dev", "p")}); err != nil {
			t.Fatal(err)
		}
		a.RulesFor(eve, "dev")
	}
	<-done
}

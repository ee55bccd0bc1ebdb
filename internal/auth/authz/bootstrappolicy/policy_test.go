package bootstrappolicy

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/authz/rbac"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// load feeds the whole default policy, with aggregated rules computed as
// the aggregation controller would, plus test bindings, into an RBAC
// authorizer.
func load(t *testing.T, extra ...rbacv1.RoleBinding) *rbac.Authorizer {
	t.Helper()
	a := rbac.New()
	roles := ClusterRoles()
	ptrs := make([]*rbacv1.ClusterRole, len(roles))
	for i := range roles {
		ptrs[i] = &roles[i]
	}
	agg := rbac.AggregateClusterRoles(ptrs)
	for i := range roles {
		if r, ok := agg[roles[i].Name]; ok {
			roles[i].Rules = r
		}
		must(t, a.Upsert(&roles[i]))
	}
	for _, b := range append(ClusterRoleBindings(), NodeBootstrapBindings(DefaultBootstrapperGroup)...) {
		must(t, a.Upsert(&b))
	}
	for _, r := range Roles() {
		must(t, a.Upsert(&r))
	}
	for _, b := range append(RoleBindings(), extra...) {
		must(t, a.Upsert(&b))
	}
	return a
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func bindUser(ns, role, u string) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{
		ObjectMeta: objectMeta(ns, role+"-"+u, nil),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{userSubject(u)},
	}
}

func res(verb, group, resource, sub, ns, name string) *request.Info {
	return &request.Info{IsResourceRequest: true, Verb: verb, APIGroup: group, APIVersion: "v1",
		Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func path(verb, p string) *request.Info { return &request.Info{Verb: verb, Path: p} }

func TestDefaultPolicy(t *testing.T) {
	a := load(t, bindUser("app", "view", "viewer"), bindUser("app", "edit", "editor"), bindUser("app", "admin", "owner"))
	authd := func(name string, groups ...string) *user.Info {
		return &user.Info{Name: name, Groups: append(groups, GroupAuthenticated)}
	}
	anon := &user.Info{Name: UserAnonymous, Groups: []string{GroupUnauthenticated}}
	root := authd("root", GroupMasters)
	viewer, editor, owner := authd("viewer"), authd("editor"), authd("owner")
	node := authd("system:node:n1", GroupNodes)
	bootstrap := &user.Info{Name: "system:bootstrap:abcdef", Groups: []string{"system:bootstrappers", DefaultBootstrapperGroup, GroupAuthenticated}}
	tests := []struct {
		name string
		u    *user.Info
		info *request.Info
		want authz.Decision
	}{
		{"cluster-admin any resource", root, res("deletecollection", "apps", "deployments", "", "x", ""), authz.Allow},
		{"cluster-admin secrets", root, res("get", "", "secrets", "", "kube-system", "s"), authz.Allow},
		{"cluster-admin subresource", root, res("create", "", "pods", "exec", "x", "p"), authz.Allow},
		{"cluster-admin nodes", root, res("delete", "", "nodes", "", "", "n1"), authz.Allow},
		{"cluster-admin any url", root, path("post", "/logs/x"), authz.Allow},

		{"view reads pods", viewer, res("get", "", "pods", "", "app", "p"), authz.Allow},
		{"view reads deployments", viewer, res("list", "apps", "deployments", "", "app", ""), authz.Allow},
		{"view reads scale", viewer, res("get", "apps", "deployments", "scale", "app", "d"), authz.Allow},
		{"view reads configmaps", viewer, res("watch", "", "configmaps", "", "app", ""), authz.Allow},
		{"view cannot read secrets", viewer, res("get", "", "secrets", "", "app", "s"), authz.NoOpinion},
		{"view cannot list secrets", viewer, res("list", "", "secrets", "", "app", ""), authz.NoOpinion},
		{"view cannot exec", viewer, res("get", "", "pods", "exec", "app", "p"), authz.NoOpinion},
		{"view cannot write", viewer, res("create", "", "pods", "", "app", ""), authz.NoOpinion},
		{"view cannot read roles", viewer, res("get", rbacGroup, "roles", "", "app", "r"), authz.NoOpinion},
		{"view only in its namespace", viewer, res("get", "", "pods", "", "other", "p"), authz.NoOpinion},

		{"edit writes deployments", editor, res("create", "apps", "deployments", "", "app", ""), authz.Allow},
		{"edit reads secrets", editor, res("get", "", "secrets", "", "app", "s"), authz.Allow},
		{"edit inherits view", editor, res("get", "", "pods", "log", "app", "p"), authz.Allow},
		{"edit cannot write roles", editor, res("create", rbacGroup, "rolebindings", "", "app", ""), authz.NoOpinion},
		{"edit cannot write quotas", editor, res("update", "", "resourcequotas", "", "app", "q"), authz.NoOpinion},

		{"admin writes rolebindings", owner, res("create", rbacGroup, "rolebindings", "", "app", ""), authz.Allow},
		{"admin inherits edit", owner, res("delete", "", "secrets", "", "app", "s"), authz.Allow},
		{"admin not cluster-wide", owner, res("list", "", "pods", "", "", ""), authz.NoOpinion},

		{"anonymous healthz", anon, path("get", "/healthz"), authz.Allow},
		{"anonymous livez", anon, path("get", "/livez"), authz.Allow},
		{"anonymous readyz", anon, path("get", "/readyz"), authz.Allow},
		{"anonymous version", anon, path("get", "/version"), authz.Allow},
		{"anonymous not /api", anon, path("get", "/api"), authz.NoOpinion},
		{"anonymous not /apis", anon, path("get", "/apis"), authz.NoOpinion},
		{"anonymous not /openapi/v2", anon, path("get", "/openapi/v2"), authz.NoOpinion},
		{"anonymous not healthz subpaths", anon, path("get", "/healthz/etcd"), authz.NoOpinion},
		{"anonymous not metrics", anon, path("get", "/metrics"), authz.NoOpinion},
		{"anonymous post healthz", anon, path("post", "/healthz"), authz.NoOpinion},
		{"anonymous no pods", anon, res("list", "", "pods", "", "", ""), authz.NoOpinion},
		{"anonymous cluster-info", anon, res("get", "", "configmaps", "", NamespacePublic, ClusterInfoConfigMap), authz.Allow},
		{"anonymous other configmap", anon, res("get", "", "configmaps", "", NamespacePublic, "other"), authz.NoOpinion},
		{"anonymous list configmaps", anon, res("list", "", "configmaps", "", NamespacePublic, ""), authz.NoOpinion},
		{"anonymous cluster-info elsewhere", anon, res("get", "", "configmaps", "", NamespaceSystem, ClusterInfoConfigMap), authz.NoOpinion},

		{"authenticated discovery", viewer, path("get", "/apis/apps/v1"), authz.Allow},
		{"authenticated openapi", viewer, path("get", "/openapi/v3/apis"), authz.Allow},
		{"authenticated can-i", viewer, res("create", authorization, "selfsubjectaccessreviews", "", "", ""), authz.Allow},
		{"authenticated rules review", viewer, res("create", authorization, "selfsubjectrulesreviews", "", "", ""), authz.Allow},
		{"authenticated whoami", viewer, res("create", authentication, "selfsubjectreviews", "", "", ""), authz.Allow},
		{"authenticated no SAR", viewer, res("create", authorization, "subjectaccessreviews", "", "", ""), authz.NoOpinion},

		{"kube-proxy services", &user.Info{Name: UserKubeProxy}, res("watch", "", "services", "", "", ""), authz.Allow},
		{"kube-proxy endpointslices", &user.Info{Name: UserKubeProxy}, res("list", discovery, "endpointslices", "", "", ""), authz.Allow},
		{"kube-proxy no secrets", &user.Info{Name: UserKubeProxy}, res("get", "", "secrets", "", "x", "s"), authz.NoOpinion},
		{"controller-manager lists all", &user.Info{Name: UserControllerManager}, res("list", "apps", "replicasets", "", "", ""), authz.Allow},
		{"controller-manager lease", &user.Info{Name: UserControllerManager}, res("update", coordination, "leases", "", NamespaceSystem, "kube-controller-manager"), authz.Allow},
		{"controller-manager other lease", &user.Info{Name: UserControllerManager}, res("update", coordination, "leases", "", NamespaceSystem, "x"), authz.NoOpinion},
		{"controller-manager no pod delete", &user.Info{Name: UserControllerManager}, res("delete", "", "pods", "", "x", "p"), authz.NoOpinion},

		{"system:node role is unbound", node, res("get", "", "secrets", "", "x", "s"), authz.NoOpinion},
		{"node gets self-renewal approval", node, res("create", certificates, "certificatesigningrequests", "selfnodeclient", "", "c"), authz.Allow},
		{"bootstrapper creates CSR", bootstrap, res("create", certificates, "certificatesigningrequests", "", "", ""), authz.Allow},
		{"bootstrapper nodeclient", bootstrap, res("create", certificates, "certificatesigningrequests", "nodeclient", "", "c"), authz.Allow},
		{"bootstrapper no selfnodeclient", bootstrap, res("create", certificates, "certificatesigningrequests", "selfnodeclient", "", "c"), authz.NoOpinion},
		{"bootstrapper no nodes", bootstrap, res("list", "", "nodes", "", "", ""), authz.NoOpinion},
		{"bootstrap signer updates cluster-info", &user.Info{Name: "system:serviceaccount:kube-system:bootstrap-signer"},
			res("update", "", "configmaps", "", NamespacePublic, ClusterInfoConfigMap), authz.Allow},
		{"bootstrap signer reads token secrets", &user.Info{Name: "system:serviceaccount:kube-system:bootstrap-signer"},
			res("list", "", "secrets", "", NamespaceSystem, ""), authz.Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, reason, err := a.Authorize(context.Background(), authz.Attributes{User: tt.u, Info: tt.info})
			if err != nil {
				t.Fatal(err)
			}
			if d != tt.want {
				t.Errorf("decision = %v, want %v (%s)", d, tt.want, reason)
			}
		})
	}
}

func TestPolicyShape(t *testing.T) {
	type meta struct{ ns, name string }
	seen := map[string]bool{}
	check := func(kind, ns, name string, labels, annotations map[string]string) {
		k := kind + "/" + ns + "/" + name
		if seen[k] {
			t.Errorf("duplicate %s", k)
		}
		seen[k] = true
		if labels[BootstrappingLabel] != BootstrappingLabelValue || annotations[AutoUpdateAnnotation] != "true" {
			t.Errorf("%s lacks the bootstrapping label or autoupdate annotation", k)
		}
	}
	roles := map[string]rbacv1.ClusterRole{}
	for _, r := range ClusterRoles() {
		check("ClusterRole", "", r.Name, r.Labels, r.Annotations)
		roles[r.Name] = r
		if r.AggregationRule == nil && len(r.Rules) == 0 {
			t.Errorf("ClusterRole %s has no rules", r.Name)
		}
	}
	for _, b := range ClusterRoleBindings() {
		check("ClusterRoleBinding", "", b.Name, b.Labels, b.Annotations)
		if _, ok := roles[b.RoleRef.Name]; !ok {
			t.Errorf("ClusterRoleBinding %s refers to unknown %s", b.Name, b.RoleRef.Name)
		}
	}
	nsRoles := map[meta]bool{}
	for _, r := range Roles() {
		check("Role", r.Namespace, r.Name, r.Labels, r.Annotations)
		nsRoles[meta{r.Namespace, r.Name}] = true
	}
	for _, b := range RoleBindings() {
		check("RoleBinding", b.Namespace, b.Name, b.Labels, b.Annotations)
		if !nsRoles[meta{b.Namespace, b.RoleRef.Name}] {
			t.Errorf("RoleBinding %s/%s refers to unknown Role %s", b.Namespace, b.Name, b.RoleRef.Name)
		}
	}
	for _, b := range NodeBootstrapBindings(DefaultBootstrapperGroup) {
		if _, ok := roles[b.RoleRef.Name]; !ok {
			t.Errorf("bootstrap binding %s refers to unknown %s", b.Name, b.RoleRef.Name)
		}
	}
	for _, name := range []string{"cluster-admin", "admin", "edit", "view", "system:aggregate-to-admin", "system:aggregate-to-edit",
		"system:aggregate-to-view", "system:basic-user", "system:discovery", "system:public-info-viewer", "system:node-bootstrapper",
		"system:certificates.k8s.io:certificatesigningrequests:nodeclient",
		"system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:node-proxier",
		"system:kube-controller-manager", "system:node"} {
		if _, ok := roles[name]; !ok {
			t.Errorf("missing ClusterRole %s", name)
		}
	}
	// The data must not be shared between calls.
	a, b := ClusterRoles(), ClusterRoles()
	a[0].Rules[0].Verbs[0] = "mutated"
	if b[0].Rules[0].Verbs[0] == "mutated" {
		t.Error("ClusterRoles returns shared slices")
	}
}

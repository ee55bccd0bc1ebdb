package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestRBAC drives RBAC through kubectl with impersonation (--as): a
// namespaced grant, denials with Kubernetes' messages, an escalation
// attempt, and ClusterRole aggregation.
func TestRBAC(t *testing.T) {
	t.Parallel()
	ns := nsName(t.Name())
	mustKubectl(t, "create", "ns", ns)
	mustKubectl(t, "create", "role", "pod-reader", "-n", ns, "--verb=get,list,watch", "--resource=pods")
	mustKubectl(t, "create", "rolebinding", "bob-reads-pods", "-n", ns, "--role=pod-reader", "--user=bob")

	canI := func(args ...string) string {
		r := kubectl(t, append([]string{"auth", "can-i"}, args...)...)
		return strings.TrimSpace(r.stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "pods", "-n", ns, "--as", "bob"}, "yes"},
		{[]string{"list", "secrets", "-n", ns, "--as", "bob"}, "no"},
		{[]string{"list", "pods", "-n", "default", "--as", "bob"}, "no"},
		{[]string{"create", "pods", "-n", ns, "--as", "bob"}, "no"},
		{[]string{"list", "pods", "-n", ns, "--as", "carol"}, "no"},
		{[]string{"list", "pods", "-n", ns, "--as", "carol", "--as-group", "system:masters"}, "yes"},
	} {
		if got := canI(tc.args...); got != tc.want {
			t.Errorf("auth can-i %v = %q, want %q", tc.args, got, tc.want)
		}
	}
	mustKubectl(t, "get", "pods", "-n", ns, "--as", "bob")
	r := kubectl(t, "get", "secrets", "-n", ns, "--as", "bob")
	mustContain(t, r.stderr, `secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the namespace "`+ns+`"`)

	// bob may write roles in the namespace but not grant what he lacks.
	mustKubectl(t, "create", "role", "role-writer", "-n", ns, "--verb=create,get", "--resource=roles.rbac.authorization.k8s.io")
	mustKubectl(t, "create", "rolebinding", "bob-writes-roles", "-n", ns, "--role=role-writer", "--user=bob")
	r = kubectl(t, "create", "role", "sneaky", "-n", ns, "--verb=get", "--resource=secrets", "--as", "bob")
	if r.code == 0 || !strings.Contains(r.stderr, "attempting to grant RBAC permissions not currently held") {
		t.Errorf("escalating role create: %s", r)
	}
	mustKubectl(t, "create", "role", "fine", "-n", ns, "--verb=get", "--resource=pods", "--as", "bob")

	// A ClusterRole labelled aggregate-to-view adds its rules to view.
	mustKubectlIn(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: e2e-widgets-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, list, watch]
`, "apply", "-f", "-")
	t.Cleanup(func() { kubectl(t, "delete", "clusterrole", "e2e-widgets-view") })
	eventually(t, 10*time.Second, func() string {
		if out := mustKubectl(t, "get", "clusterrole", "view", "-o", "jsonpath={.rules[*].resources}"); !strings.Contains(out, "leases") {
			return "view lacks the aggregated rule"
		}
		return ""
	})
	mustKubectl(t, "create", "rolebinding", "bob-views", "-n", ns, "--clusterrole=view", "--user=bob")
	if got := canI("delete", "leases.coordination.k8s.io", "-n", ns, "--as", "bob"); got != "no" {
		t.Errorf("view grants delete on leases: %q", got)
	}
	// The authorizer follows bindings through a watch: allow it a moment.
	eventually(t, 10*time.Second, func() string {
		if got := canI("list", "leases.coordination.k8s.io", "-n", ns, "--as", "bob"); got != "yes" {
			return "aggregated rule not granted: can-i = " + got
		}
		return ""
	})

	// can-i --list shows bob's rules (SelfSubjectRulesReview).
	mustContain(t, mustKubectl(t, "auth", "can-i", "--list", "-n", ns, "--as", "bob"), "pods", "roles.rbac.authorization.k8s.io")
}

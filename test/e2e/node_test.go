package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestNodeAuthorization runs a two-node matrix through kubectl
// impersonating system:node:<name> in system:nodes: the Node authorizer
// (secrets only of pods bound to the node) and NodeRestriction (own Node
// and Lease only).
func TestNodeAuthorization(t *testing.T) {
	t.Parallel()
	ns := nsName(t.Name())
	mustKubectl(t, "create", "ns", ns)
	as := func(node string, args ...string) result {
		return kubectl(t, append(args, "--as", "system:node:"+node, "--as-group", "system:nodes")...)
	}
	node := func(name string) string {
		return `{"apiVersion":"v1","kind":"Node","metadata":{"name":"` + name + `"}}`
	}
	n1 := "e2e-" + strings.ToLower(ns) + "-n1"
	n2 := "e2e-" + strings.ToLower(ns) + "-n2"
	t.Cleanup(func() { kubectl(t, "delete", "node", n1, n2, "--ignore-not-found") })
	if r := kubectlIn(t, node(n1), "create", "-f", "-", "--as", "system:node:"+n1, "--as-group", "system:nodes"); r.code != 0 {
		t.Fatalf("node creating itself: %s", r)
	}
	if r := kubectlIn(t, node(n2), "create", "-f", "-", "--as", "system:node:"+n1, "--as-group", "system:nodes"); r.code == 0 {
		t.Errorf("node created another node")
	}
	mustKubectlIn(t, node(n2), "create", "-f", "-")

	// Pods need the namespace's default ServiceAccount, which the
	// controller manager creates shortly after the namespace.
	eventually(t, 10*time.Second, func() string {
		if r := kubectl(t, "get", "serviceaccount", "default", "-n", ns); r.code != 0 {
			return "no default service account yet"
		}
		return ""
	})
	mustKubectl(t, "create", "secret", "generic", "s1", "-n", ns, "--from-literal=a=1")
	mustKubectl(t, "create", "secret", "generic", "s2", "-n", ns, "--from-literal=a=2")
	mustKubectlIn(t, `apiVersion: v1
kind: Pod
metadata: {name: p1}
spec:
  nodeName: `+n1+`
  automountServiceAccountToken: false
  containers: [{name: c, image: nginx, envFrom: [{secretRef: {name: s1}}]}]
`, "create", "-n", ns, "-f", "-")

	// The graph follows pods through a watch: allow it a moment.
	eventually(t, 10*time.Second, func() string {
		if r := as(n1, "get", "secret", "s1", "-n", ns); r.code != 0 {
			return "node n1 cannot read the secret of its pod: " + r.stderr
		}
		return ""
	})
	for _, tc := range []struct {
		node string
		args []string
		ok   bool
	}{
		{n1, []string{"get", "secret", "s2", "-n", ns}, false},
		{n2, []string{"get", "secret", "s1", "-n", ns}, false},
		{n1, []string{"get", "node", n1}, true},
		{n1, []string{"label", "node", n1, "example.com/rack=7"}, true},
		{n1, []string{"label", "node", n1, "node-restriction.kubernetes.io/trusted=yes"}, false},
		{n1, []string{"label", "node", n2, "example.com/rack=7"}, false},
		{n1, []string{"get", "pods", "-n", ns}, false},
		{n1, []string{"get", "pods", "-A", "--field-selector", "spec.nodeName=" + n1}, true},
		{n1, []string{"delete", "pod", "p1", "-n", ns, "--wait=false"}, true},
	} {
		r := as(tc.node, tc.args...)
		if (r.code == 0) != tc.ok {
			t.Errorf("%s %v: ok=%v, want %v (%s)", tc.node, tc.args, r.code == 0, tc.ok, r.stderr)
		}
	}
	lease := func(name string) string {
		return `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"` + name + `","namespace":"kube-node-lease"},"spec":{"holderIdentity":"` + name + `"}}`
	}
	t.Cleanup(func() { kubectl(t, "delete", "lease", "-n", "kube-node-lease", n1, "--ignore-not-found") })
	if r := kubectlIn(t, lease(n1), "create", "-f", "-", "--as", "system:node:"+n1, "--as-group", "system:nodes"); r.code != 0 {
		t.Errorf("node creating its lease: %s", r)
	}
	if r := kubectlIn(t, lease(n2), "create", "-f", "-", "--as", "system:node:"+n1, "--as-group", "system:nodes"); r.code == 0 {
		t.Errorf("node created another node's lease")
	}
}

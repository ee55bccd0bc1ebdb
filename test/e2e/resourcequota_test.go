package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestResourceQuota: quota status is computed, over-quota creates are
// refused with upstream's message, deletions give the quota back, and a
// compute quota requires pods to say what they use.
func TestResourceQuota(t *testing.T) {
	s := env.shared
	ns := s.namespace(t)
	s.mustKubectl(t, "create", "quota", "q", "-n", ns, "--hard=pods=2,configmaps=3,count/deployments.apps=1")
	used := func(want string) func() string {
		return func() string {
			got := s.kubectl(t, "get", "quota", "q", "-n", ns, "-o", "jsonpath={.status.used}")
			if strings.TrimSpace(got.stdout) != want {
				return fmt.Sprintf("used %q, want %q", got.stdout, want)
			}
			return ""
		}
	}
	// kube-root-ca.crt is a config map of the namespace too.
	eventually(t, 30*time.Second, used(`{"configmaps":"1","count/deployments.apps":"0","pods":"0"}`))

	pod := func(name string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: %s}\nspec:\n  containers: [{name: c, image: busybox}]\n", name, ns)
	}
	s.mustKubectlWith(t, runOpts{stdin: pod("p1")}, "create", "-f", "-")
	s.mustKubectlWith(t, runOpts{stdin: pod("p2")}, "create", "-f", "-")
	r := s.kubectlWith(t, runOpts{stdin: pod("p3")}, "create", "-f", "-")
	if r.code == 0 {
		t.Fatal("a third pod was admitted over a pods=2 quota")
	}
	mustContain(t, r.stderr, `pods "p3" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`)

	s.mustKubectl(t, "create", "deployment", "d1", "-n", ns, "--image=busybox")
	r = s.kubectl(t, "create", "deployment", "d2", "-n", ns, "--image=busybox")
	mustContain(t, r.stderr, "exceeded quota: q, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1")

	// Deleting a pod returns its share.
	s.mustKubectl(t, "delete", "pod", "p1", "-n", ns, "--wait=true")
	eventually(t, 30*time.Second, func() string {
		r := s.kubectlWith(t, runOpts{stdin: pod("p3")}, "create", "-f", "-")
		if r.code != 0 {
			return r.stderr
		}
		return ""
	})

	// Compute quotas need every container to state its limits.
	ns2 := ns + "-compute"
	s.mustKubectl(t, "create", "namespace", ns2)
	t.Cleanup(func() { s.kubectl(t, "delete", "namespace", ns2, "--wait=false") })
	s.mustKubectl(t, "create", "quota", "compute", "-n", ns2, "--hard=limits.cpu=1,limits.memory=1Gi")
	eventually(t, 30*time.Second, func() string {
		got := s.kubectl(t, "get", "quota", "compute", "-n", ns2, "-o", "jsonpath={.status.hard.limits\\.cpu}")
		if got.stdout != "1" {
			return "hard not yet in status: " + got.combined()
		}
		return ""
	})
	r = s.kubectl(t, "run", "nolimits", "-n", ns2, "--image=busybox")
	mustContain(t, r.stderr, "failed quota: compute: must specify limits.cpu for: nolimits; limits.memory for: nolimits")
	limited := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: big, namespace: %s}
spec:
  containers:
  - name: c
    image: busybox
    resources: {limits: {cpu: "2", memory: 100Mi}}
`, ns2)
	r = s.kubectlWith(t, runOpts{stdin: limited}, "create", "-f", "-")
	mustContain(t, r.stderr, "exceeded quota: compute, requested: limits.cpu=2, used: limits.cpu=0, limited: limits.cpu=1")
	s.mustKubectlWith(t, runOpts{stdin: strings.Replace(limited, `cpu: "2"`, `cpu: 500m`, 1)}, "create", "-f", "-")
	eventually(t, 30*time.Second, func() string {
		got := s.kubectl(t, "get", "quota", "compute", "-n", ns2, "-o", "jsonpath={.status.used.limits\\.cpu} {.status.used.limits\\.memory}")
		if got.stdout != "500m 100Mi" {
			return "used " + got.combined()
		}
		return ""
	})
}

// TestLimitRanger: a LimitRange's defaults fill containers that set
// nothing, and its bounds refuse pods outside them.
func TestLimitRanger(t *testing.T) {
	s := env.shared
	ns := s.namespace(t)
	lr := fmt.Sprintf(`apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: %s}
spec:
  limits:
  - type: Container
    default: {cpu: 200m, memory: 128Mi}
    defaultRequest: {cpu: 100m, memory: 64Mi}
    min: {cpu: 50m}
    max: {cpu: "1"}
`, ns)
	s.mustKubectlWith(t, runOpts{stdin: lr}, "create", "-f", "-")
	s.mustKubectl(t, "run", "plain", "-n", ns, "--image=busybox")
	got := s.mustKubectl(t, "get", "pod", "plain", "-n", ns, "-o",
		`jsonpath={.spec.containers[0].resources.requests.cpu} {.spec.containers[0].resources.limits.cpu} {.spec.containers[0].resources.limits.memory}|{.metadata.annotations.kubernetes\.io/limit-ranger}`)
	if got != "100m 200m 128Mi|LimitRanger plugin set: cpu, memory request for container plain; cpu, memory limit for container plain" {
		t.Errorf("defaults: %q", got)
	}
	big := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: big, namespace: %s}\nspec:\n  containers: [{name: c, image: busybox, resources: {limits: {cpu: \"2\"}, requests: {cpu: 10m}}}]\n", ns)
	r := s.kubectlWith(t, runOpts{stdin: big}, "create", "-f", "-")
	mustContain(t, r.stderr, `pods "big" is forbidden:`, "minimum cpu usage per Container is 50m, but request is 10m", "maximum cpu usage per Container is 1, but limit is 2")
}

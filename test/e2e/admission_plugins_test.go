package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPodSecurityAdmission: namespace labels select the Pod Security
// Standards level; enforce refuses with upstream's message, warn shows in
// kubectl's output, workloads are warned about, bad labels are 422.
func TestPodSecurityAdmission(t *testing.T) {
	s := env.shared
	ns := s.namespace(t)
	s.mustKubectl(t, "label", "namespace", ns, "pod-security.kubernetes.io/enforce=baseline", "pod-security.kubernetes.io/warn=restricted")
	privileged := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: priv, namespace: %s}
spec:
  containers: [{name: c, image: busybox, securityContext: {privileged: true}}]
`, ns)
	r := s.kubectlWith(t, runOpts{stdin: privileged}, "create", "-f", "-")
	mustContain(t, r.stderr, `pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)`)
	r = s.kubectl(t, "run", "plain", "-n", ns, "--image=busybox")
	if r.code != 0 {
		t.Fatalf("a baseline pod was refused: %s", r.stderr)
	}
	mustContain(t, r.stderr, `Warning: would violate PodSecurity "restricted:latest"`)
	r = s.kubectl(t, "create", "deployment", "d", "-n", ns, "--image=busybox")
	mustContain(t, r.stderr, `Warning: would violate PodSecurity "restricted:latest"`)
	r = s.kubectl(t, "label", "namespace", ns, "--overwrite", "pod-security.kubernetes.io/enforce=strictest")
	mustContain(t, r.stderr, "metadata.labels[pod-security.kubernetes.io/enforce]")
	// Tightening warns about the pods that would not be admitted now.
	r = s.kubectl(t, "label", "namespace", ns, "--overwrite", "pod-security.kubernetes.io/enforce=restricted")
	mustContain(t, r.stderr, fmt.Sprintf(`existing pods in namespace %q violate the new PodSecurity enforce level "restricted:latest"`, ns), "plain: allowPrivilegeEscalation != false")
}

// TestClassAdmission: pods get their PriorityClass's priority, an unknown
// class is refused, claims get the default StorageClass and may only grow
// when it allows expansion.
func TestClassAdmission(t *testing.T) {
	s := env.shared
	ns := s.namespace(t)
	name := strings.TrimPrefix(ns, "e2e-")
	s.mustKubectl(t, "create", "priorityclass", name+"-high", "--value=1000", "--preemption-policy=Never")
	t.Cleanup(func() { s.kubectl(t, "delete", "priorityclass", name+"-high") })
	pod := func(pod, class string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: %s}\nspec:\n  priorityClassName: %s\n  containers: [{name: c, image: busybox}]\n", pod, ns, class)
	}
	s.mustKubectlWith(t, runOpts{stdin: pod("high", name+"-high")}, "create", "-f", "-")
	got := s.mustKubectl(t, "get", "pod", "high", "-n", ns, "-o", "jsonpath={.spec.priority} {.spec.preemptionPolicy}")
	if got != "1000 Never" {
		t.Errorf("priority from the class: %q", got)
	}
	s.mustKubectlWith(t, runOpts{stdin: pod("critical", "system-node-critical")}, "create", "-f", "-")
	if got := s.mustKubectl(t, "get", "pod", "critical", "-n", ns, "-o", "jsonpath={.spec.priority}"); got != "2000001000" {
		t.Errorf("system-node-critical priority %q", got)
	}
	r := s.kubectlWith(t, runOpts{stdin: pod("nope", "no-such-class")}, "create", "-f", "-")
	mustContain(t, r.stderr, "no PriorityClass with name no-such-class was found")

	sc := fmt.Sprintf(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: %s-default
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/none
`, name)
	s.mustKubectlWith(t, runOpts{stdin: sc}, "create", "-f", "-")
	t.Cleanup(func() { s.kubectl(t, "delete", "storageclass", name+"-default") })
	claim := fmt.Sprintf("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: %s}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n", ns)
	s.mustKubectlWith(t, runOpts{stdin: claim}, "create", "-f", "-")
	got = s.mustKubectl(t, "get", "pvc", "data", "-n", ns, "-o", "jsonpath={.spec.storageClassName} {.metadata.finalizers}")
	if got != name+`-default ["kubernetes.io/pvc-protection"]` {
		t.Errorf("claim class and finalizers: %q", got)
	}
	r = s.kubectl(t, "patch", "pvc", "data", "-n", ns, "-p", `{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}`)
	mustContain(t, r.stderr, "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize")

	// A claim a pod uses stays while the pod does; then it goes.
	user := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: user, namespace: %s}\nspec:\n  containers: [{name: c, image: busybox}]\n  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]\n", ns)
	s.mustKubectlWith(t, runOpts{stdin: user}, "create", "-f", "-")
	s.mustKubectl(t, "delete", "pvc", "data", "-n", ns, "--wait=false")
	time.Sleep(2 * time.Second)
	if got := s.mustKubectl(t, "get", "pvc", "data", "-n", ns, "-o", "jsonpath={.metadata.deletionTimestamp}"); got == "" {
		t.Fatal("a claim in use was deleted (or not marked)")
	}
	s.mustKubectl(t, "delete", "pod", "user", "-n", ns, "--grace-period=0", "--force")
	eventually(t, 30*time.Second, func() string {
		if r := s.kubectl(t, "get", "pvc", "data", "-n", ns); r.code == 0 {
			return "claim still there"
		}
		return ""
	})
}

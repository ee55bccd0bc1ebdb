package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNamespaceDeleteCascades deletes a namespace with content and checks
// that the content goes with it.
func TestNamespaceDeleteCascades(t *testing.T) {
	t.Parallel()
	ns := nsName(t.Name())
	mustKubectl(t, "create", "ns", ns)
	mustKubectl(t, "create", "cm", "c", "-n", ns, "--from-literal=a=1")
	mustKubectl(t, "create", "secret", "generic", "s", "-n", ns, "--from-literal=a=1")

	mustContain(t, mustKubectl(t, "delete", "ns", ns, "--timeout=60s"), `namespace "`+ns+`" deleted`)
	r := kubectl(t, "get", "ns", ns)
	if r.code == 0 || !strings.Contains(r.stderr, `namespaces "`+ns+`" not found`) {
		t.Errorf("namespace still there after delete: %s", r)
	}
	for _, res := range []string{"cm", "secrets"} {
		r := kubectl(t, "get", res, "-n", ns, "-o", "name")
		if strings.TrimSpace(r.stdout) != "" {
			t.Errorf("%s outlived their namespace: %s", res, r)
		}
	}
}

// TestTerminatingNamespace holds a namespace in Terminating with a
// finalizer and checks creates are refused until it is gone.
func TestTerminatingNamespace(t *testing.T) {
	t.Parallel()
	ns := nsName(t.Name())
	mustKubectl(t, "create", "ns", ns)
	mustKubectlIn(t, `apiVersion: v1
kind: ConfigMap
metadata:
  name: held
  finalizers: [e2e.kastle.dev/hold]
data: {a: "1"}
`, "create", "-n", ns, "-f", "-")
	t.Cleanup(func() {
		kubectl(t, "patch", "cm", "held", "-n", ns, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	})

	mustKubectl(t, "delete", "ns", ns, "--wait=false")
	eventually(t, 30*time.Second, func() string {
		out := mustKubectl(t, "get", "ns", ns)
		if !regexp.MustCompile(`(?m)^` + ns + `\s+Terminating\s+\d+s$`).MatchString(out) {
			return "namespace not shown Terminating:\n" + out
		}
		return ""
	})
	// The held object is being deleted but stays while its finalizer does.
	eventually(t, 30*time.Second, func() string {
		if ts := mustKubectl(t, "get", "cm", "held", "-n", ns, "-o", "jsonpath={.metadata.deletionTimestamp}"); ts == "" {
			return "held configmap has no deletionTimestamp"
		}
		return ""
	})

	r := kubectl(t, "create", "cm", "late", "-n", ns)
	if r.code == 0 || !strings.Contains(strings.ToLower(r.stderr), "forbidden") || !strings.Contains(r.stderr, "because it is being terminated") {
		t.Errorf("create in a terminating namespace: want Forbidden ... being terminated, got %s", r)
	}

	mustKubectl(t, "patch", "cm", "held", "-n", ns, "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
	// kubectl prints "condition met" when it saw the deletion, and
	// nothing when the namespace was already gone as it started.
	if out := mustKubectl(t, "wait", "--for=delete", "ns/"+ns, "--timeout=60s"); out != "" {
		mustContain(t, out, "condition met")
	}
	if r := kubectl(t, "get", "ns", ns); r.code == 0 {
		t.Errorf("namespace still there: %s", r)
	}
}

// TestNamespaceDefaults checks what every namespace gets, as in
// Kubernetes: the default ServiceAccount and kube-root-ca.crt holding the
// cluster CA, both put back when deleted.
func TestNamespaceDefaults(t *testing.T) {
	t.Parallel()
	ns := nsName(t.Name())
	mustKubectl(t, "create", "ns", ns)
	ca, err := os.ReadFile(filepath.Join(env.shared.dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		eventually(t, 10*time.Second, func() string {
			if r := kubectl(t, "get", "serviceaccount", "default", "-n", ns); r.code != 0 {
				return "no default ServiceAccount: " + r.stderr
			}
			out := kubectl(t, "get", "configmap", "kube-root-ca.crt", "-n", ns, "-o", `jsonpath={.data.ca\.crt}`)
			if strings.TrimSpace(out.stdout) != strings.TrimSpace(string(ca)) {
				return "kube-root-ca.crt does not hold the cluster CA"
			}
			return ""
		})
		if round == 0 {
			mustKubectl(t, "delete", "serviceaccount", "default", "-n", ns)
			mustKubectl(t, "delete", "configmap", "kube-root-ca.crt", "-n", ns)
		}
	}
	// ServiceAccount admission: a pod gets the default account and a
	// projected token volume mounted at the well-known path.
	mustKubectl(t, "run", "web", "-n", ns, "--image=nginx", "--restart=Never")
	out := mustKubectl(t, "get", "pod", "web", "-n", ns, "-o",
		`jsonpath={.spec.serviceAccountName} {.spec.volumes[0].projected.sources[0].serviceAccountToken.path} {.spec.containers[0].volumeMounts[0].mountPath}`)
	if out != "default token /var/run/secrets/kubernetes.io/serviceaccount" {
		t.Errorf("pod after ServiceAccount admission: %q", out)
	}
	r := kubectl(t, "run", "ghost", "-n", ns, "--image=nginx", "--restart=Never", "--overrides", `{"spec":{"serviceAccountName":"ghost"}}`)
	if r.code == 0 || !strings.Contains(r.stderr, "service account") {
		t.Errorf("pod with a missing service account: %s", r)
	}
}

// TestNamespaceFinalize: PUT namespaces/NAME/finalize changes spec.finalizers
// and nothing else; other verbs on it are 405, as upstream.
func TestNamespaceFinalize(t *testing.T) {
	s := env.shared
	cs := s.clientset(t)
	ctx := context.Background()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(t.Name())}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	if len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != corev1.FinalizerKubernetes {
		t.Fatalf("finalizers %v", ns.Spec.Finalizers)
	}
	ns.Spec.Finalizers = append(ns.Spec.Finalizers, "example.com/extra")
	ns.Labels = map[string]string{"ignored": "yes"}
	out, err := cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Spec.Finalizers) != 2 || out.Spec.Finalizers[1] != "example.com/extra" {
		t.Errorf("finalize did not set finalizers: %v", out.Spec.Finalizers)
	}
	if out.Labels["ignored"] != "" {
		t.Errorf("finalize changed labels: %v", out.Labels)
	}
	out.Spec.Finalizers = []corev1.FinalizerName{"not a valid/name/at all"}
	if _, err := cs.CoreV1().Namespaces().Finalize(ctx, out, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("an invalid finalizer: want 422, got %v", err)
	}
	err = cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces", ns.Name, "finalize").Do(ctx).Error()
	if !apierrors.IsMethodNotSupported(err) {
		t.Errorf("GET finalize: want 405, got %v", err)
	}
}

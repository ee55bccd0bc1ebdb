package e2e

import (
	"strings"
	"testing"
)

// TestDeployManifestsDryRun: the CA service's manifests (deploy/ca) pass
// `kubectl apply --dry-run=server` against kastle server. Their
// namespace is created for real first: a server-side dry run of a
// namespace creates nothing for the objects in it, as with Kubernetes.
func TestDeployManifestsDryRun(t *testing.T) {
	t.Parallel()
	t.Cleanup(func() { kubectl(t, "delete", "namespace", "kastle-ca", "--wait=false", "--ignore-not-found") })
	mustKubectl(t, "create", "namespace", "kastle-ca")
	out := mustKubectl(t, "apply", "--dry-run=server", "-f", "../../deploy/ca/ca.yaml")
	for _, want := range []string{"persistentvolumeclaim/", "configmap/", "deployment.apps/", "service/"} {
		if !strings.Contains(out, want) || !strings.Contains(out, "(server dry run)") {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	// Nothing was created.
	if r := kubectl(t, "get", "deployment", "-n", "kastle-ca", "-o", "name"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("a dry run created %s", r.stdout)
	}
}

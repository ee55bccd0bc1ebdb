package caserver_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kastle-dev/kastle/internal/caserver"
)

// TestDeployManifests parses deploy/ca/ca.yaml strictly into the API types
// and checks what matters: the Service reaches the Deployment's pods, the
// container runs as non-root with the CA directory on a volume, and the
// policy it mounts parses.
func TestDeployManifests(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "ca", "ca.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		dep *appsv1.Deployment
		svc *corev1.Service
		cm  *corev1.ConfigMap
	)
	for i, doc := range strings.Split(string(data), "\n---\n") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var into any
		switch meta.Kind {
		case "Deployment":
			dep = &appsv1.Deployment{}
			into = dep
		case "Service":
			svc = &corev1.Service{}
			into = svc
		case "ConfigMap":
			cm = &corev1.ConfigMap{}
			into = cm
		case "Namespace":
			into = &corev1.Namespace{}
		case "PersistentVolumeClaim":
			into = &corev1.PersistentVolumeClaim{}
		default:
			t.Fatalf("document %d: unexpected kind %q", i, meta.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
			t.Fatalf("document %d (%s): %v", i, meta.Kind, err)
		}
	}
	if dep == nil || svc == nil || cm == nil {
		t.Fatal("missing Deployment, Service or ConfigMap")
	}
	for k, v := range svc.Spec.Selector {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pod labels %v", k, v, dep.Spec.Template.Labels)
		}
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if sc := dep.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("pod may run as root")
	}
	if !slices.Contains(c.Args, "--mtls=true") || !slices.Contains(c.Args, "--dir=/var/lib/kastle-ca") {
		t.Errorf("container args %v", c.Args)
	}
	if c.Ports[0].ContainerPort != svc.Spec.Ports[0].Port {
		t.Errorf("container port %d, service port %d", c.Ports[0].ContainerPort, svc.Spec.Ports[0].Port)
	}
	if _, err := caserver.ParsePolicy([]byte(cm.Data["policy.yaml"])); err != nil {
		t.Errorf("policy in the ConfigMap: %v", err)
	}
	df, err := os.ReadFile(filepath.Join("..", "..", "deploy", "ca", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "distroless/static", "USER 65532"} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// TestDocsPolicyExample keeps the policy example in docs/ca-service.md
// valid.
func TestDocsPolicyExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "ca-service.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml block in docs/ca-service.md")
	}
	p, err := caserver.ParsePolicy([]byte(block))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Profiles["web"]; !ok {
		t.Error("the example's web profile is missing")
	}
}

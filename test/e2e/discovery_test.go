package e2e

import (
	"strings"
	"testing"
)

// TestAPIResources checks kubectl's view of discovery: resources, their
// groups and short names.
func TestAPIResources(t *testing.T) {
	t.Parallel()
	out := mustKubectl(t, "api-resources")
	if h := fields(firstLine(out)); strings.Join(h, " ") != "NAME SHORTNAMES APIVERSION NAMESPACED KIND" {
		t.Errorf("header = %q", h)
	}
	rows := map[string][]string{} // "resource group/version" -> columns
	for _, line := range strings.Split(out, "\n")[1:] {
		f := fields(line)
		if len(f) < 4 {
			continue
		}
		rows[f[0]+" "+f[len(f)-3]] = f
	}
	for _, tc := range []struct {
		name, apiVersion, shortNames, namespaced, kind string
	}{
		{"configmaps", "v1", "cm", "true", "ConfigMap"},
		{"secrets", "v1", "", "true", "Secret"},
		{"namespaces", "v1", "ns", "false", "Namespace"},
		{"deployments", "apps/v1", "deploy", "true", "Deployment"},
		{"leases", "coordination.k8s.io/v1", "", "true", "Lease"},
		{"customresourcedefinitions", "apiextensions.k8s.io/v1", "crd,crds", "false", "CustomResourceDefinition"},
		{"certificatesigningrequests", "certificates.k8s.io/v1", "csr", "false", "CertificateSigningRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := rows[tc.name+" "+tc.apiVersion]
			if !ok {
				t.Fatalf("%s %s missing from api-resources:\n%s", tc.name, tc.apiVersion, out)
			}
			want := []string{tc.name}
			if tc.shortNames != "" {
				want = append(want, tc.shortNames)
			}
			want = append(want, tc.apiVersion, tc.namespaced, tc.kind)
			if strings.Join(f, " ") != strings.Join(want, " ") {
				t.Errorf("row = %q, want %q", f, want)
			}
		})
	}
}

// TestAPIVersions checks the group/versions kubectl discovers.
func TestAPIVersions(t *testing.T) {
	t.Parallel()
	out := mustKubectl(t, "api-versions")
	have := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		have[strings.TrimSpace(line)] = true
	}
	for _, gv := range []string{"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "certificates.k8s.io/v1", "apiextensions.k8s.io/v1", "coordination.k8s.io/v1"} {
		if !have[gv] {
			t.Errorf("api-versions lacks %s:\n%s", gv, out)
		}
	}
}

// TestExplain checks that kubectl explain finds schemas with descriptions
// in the server's OpenAPI documents.
func TestExplain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path  string
		wants []string
	}{
		{"configmap", []string{"KIND:", "ConfigMap", "VERSION:", "v1", "DESCRIPTION:", "ConfigMap holds configuration data", "FIELDS:", "data", "binaryData", "immutable", "metadata"}},
		{"deployment.spec.template.spec.containers", []string{"KIND:", "Deployment", "apps", "FIELD: containers", "DESCRIPTION:", "List of containers belonging to the pod", "image", "imagePullPolicy", "FIELDS:", "name", "<string> -required-"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			mustContain(t, mustKubectl(t, "explain", tc.path), tc.wants...)
		})
	}
}

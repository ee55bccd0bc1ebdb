package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// widgetCRD is a namespaced CRD with a schema, defaults, printer columns
// and a status subresource. The group is unique to this package so
// parallel runs of other tests never see it.
const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.e2e.kastle.dev
spec:
  group: e2e.kastle.dev
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    listKind: WidgetList
    shortNames: [wdg]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: Size
      type: integer
      jsonPath: .spec.size
    - name: Color
      type: string
      jsonPath: .spec.color
    - name: Phase
      type: string
      jsonPath: .status.phase
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [color]
            properties:
              size:
                type: integer
                default: 3
                minimum: 1
              color:
                type: string
                enum: [red, green, blue]
              shape:
                type: string
                default: round
          status:
            type: object
            properties:
              phase:
                type: string
`

func widget(ns, name, spec string) string {
	return fmt.Sprintf("apiVersion: e2e.kastle.dev/v1\nkind: Widget\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s", name, ns, spec)
}

// TestCRDFlow drives a CustomResourceDefinition through its life with
// kubectl: establish, create, print, default, validate, update, delete.
func TestCRDFlow(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	mustContain(t, mustKubectlIn(t, widgetCRD, "apply", "-f", "-"), "customresourcedefinition.apiextensions.k8s.io/widgets.e2e.kastle.dev created")
	t.Cleanup(func() { kubectl(t, "delete", "crd", "widgets.e2e.kastle.dev", "--ignore-not-found", "--wait=false") })
	mustContain(t, mustKubectl(t, "wait", "--for=condition=Established", "crd/widgets.e2e.kastle.dev", "--timeout=30s"), "condition met")

	// The new resource is discoverable right after Established.
	eventually(t, 20*time.Second, func() string {
		out := mustKubectl(t, "api-resources", "--api-group=e2e.kastle.dev")
		if !regexp.MustCompile(`(?m)^widgets\s+wdg\s+e2e.kastle.dev/v1\s+true\s+Widget$`).MatchString(out) {
			return "widgets not in api-resources:\n" + out
		}
		return ""
	})

	mustContain(t, mustKubectlIn(t, widget(ns, "w1", "  color: red\n"), "create", "-f", "-"), "widget.e2e.kastle.dev/w1 created")

	t.Run("printer columns", func(t *testing.T) {
		out := mustKubectl(t, "get", "widgets", "-n", ns)
		if h := strings.Join(fields(firstLine(out)), " "); h != "NAME SIZE COLOR PHASE AGE" {
			t.Errorf("header = %q:\n%s", h, out)
		}
		if !regexp.MustCompile(`(?m)^w1\s+3\s+red\s+\d+s$`).MatchString(out) {
			t.Errorf("no row for w1 with size 3, color red:\n%s", out)
		}
		// Short name and singular work as in kube-apiserver.
		mustContain(t, mustKubectl(t, "get", "wdg", "w1", "-n", ns, "-o", "name"), "widget.e2e.kastle.dev/w1")
	})

	t.Run("defaults", func(t *testing.T) {
		var obj struct {
			Spec struct {
				Size  int
				Color string
				Shape string
			}
		}
		out := mustKubectl(t, "get", "widget", "w1", "-n", ns, "-o", "yaml")
		if err := yaml.Unmarshal([]byte(out), &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Spec.Size != 3 || obj.Spec.Shape != "round" || obj.Spec.Color != "red" {
			t.Errorf("spec = %+v, want size 3 and shape round defaulted:\n%s", obj.Spec, out)
		}
	})

	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			name, spec, want string
		}{
			{"unknown", "  color: red\n  bogus: 1\n", `unknown field "spec.bogus"`},
			{"enum", "  color: purple\n", "spec.color"},
			{"minimum", "  color: red\n  size: 0\n", "spec.size"},
			{"required", "  size: 2\n", "spec.color"},
		} {
			r := kubectlIn(t, widget(ns, "bad-"+tc.name, tc.spec), "create", "-f", "-")
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%s: want rejection mentioning %q, got %s", tc.name, tc.want, r)
			}
		}
		r := kubectl(t, "get", "widget", "bad-unknown", "-n", ns)
		if r.code == 0 {
			t.Errorf("rejected widget exists: %s", r)
		}
	})

	t.Run("update", func(t *testing.T) {
		// Apply on a custom resource patches with a JSON merge patch.
		mustContain(t, mustKubectlIn(t, widget(ns, "w2", "  color: red\n"), "apply", "-f", "-"), "widget.e2e.kastle.dev/w2 created")
		mustContain(t, mustKubectlIn(t, widget(ns, "w2", "  color: blue\n  size: 7\n"), "apply", "-f", "-"), "widget.e2e.kastle.dev/w2 configured")
		if got := mustKubectl(t, "get", "widget", "w2", "-n", ns, "-o", "jsonpath={.spec.color}/{.spec.size}/{.spec.shape}"); got != "blue/7/round" {
			t.Errorf("after apply spec = %q", got)
		}
		mustKubectl(t, "patch", "widget", "w2", "-n", ns, "--type=merge", "-p", `{"spec":{"size":9}}`)
		if got := mustKubectl(t, "get", "widget", "w2", "-n", ns, "-o", "jsonpath={.spec.size}"); got != "9" {
			t.Errorf("after merge patch size = %q", got)
		}
		r := kubectl(t, "patch", "widget", "w2", "-n", ns, "-p", `{"spec":{"size":1}}`) // strategic is not for CRs
		if r.code == 0 {
			t.Errorf("strategic merge patch on a custom resource succeeded: %s", r)
		}

		// Status goes only through the status subresource.
		mustKubectl(t, "patch", "widget", "w2", "-n", ns, "--type=merge", "-p", `{"status":{"phase":"Ignored"}}`)
		if got := mustKubectl(t, "get", "widget", "w2", "-n", ns, "-o", "jsonpath={.status.phase}"); got != "" {
			t.Errorf("status changed through the main resource: %q", got)
		}
		mustKubectl(t, "patch", "widget", "w2", "-n", ns, "--subresource=status", "--type=merge", "-p", `{"status":{"phase":"Ready"},"spec":{"size":1}}`)
		if got := mustKubectl(t, "get", "widget", "w2", "-n", ns, "-o", "jsonpath={.status.phase}/{.spec.size}"); got != "Ready/9" {
			t.Errorf("after status patch status/spec = %q, want Ready/9", got)
		}
		if !regexp.MustCompile(`(?m)^w2\s+9\s+blue\s+Ready\s+\d+s$`).MatchString(mustKubectl(t, "get", "widgets", "-n", ns)) {
			t.Errorf("printer columns do not show the status phase")
		}
	})

	mustContain(t, mustKubectl(t, "delete", "widget", "w1", "-n", ns), `widget.e2e.kastle.dev "w1" deleted`)
	if r := kubectl(t, "get", "widget", "w1", "-n", ns); r.code == 0 {
		t.Errorf("w1 still there: %s", r)
	}

	// Deleting the CRD removes its remaining objects (w2) and the resource.
	mustContain(t, mustKubectl(t, "delete", "crd", "widgets.e2e.kastle.dev", "--timeout=60s"), "deleted")
	eventually(t, 30*time.Second, func() string {
		if out := mustKubectl(t, "api-resources"); strings.Contains(out, "e2e.kastle.dev") {
			return "widgets still in api-resources:\n" + out
		}
		return ""
	})
	r := kubectl(t, "get", "widgets", "-n", ns)
	if r.code == 0 || !strings.Contains(r.stderr, `the server doesn't have a resource type "widgets"`) {
		t.Errorf("get widgets after CRD delete: %s", r)
	}
	// Recreating the CRD must not resurrect the old objects.
	mustKubectlIn(t, widgetCRD, "apply", "-f", "-")
	mustKubectl(t, "wait", "--for=condition=Established", "crd/widgets.e2e.kastle.dev", "--timeout=30s")
	eventually(t, 20*time.Second, func() string {
		r := kubectl(t, "get", "widgets", "-n", ns, "-o", "name")
		if r.code != 0 {
			return "get widgets after re-creating the CRD: " + r.String()
		}
		if strings.TrimSpace(r.stdout) != "" {
			return "custom resources survived their CRD's deletion: " + r.stdout
		}
		return ""
	})
	mustKubectl(t, "delete", "crd", "widgets.e2e.kastle.dev", "--timeout=60s")
}

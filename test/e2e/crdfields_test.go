package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCustomResourceSelectableFieldsAndStoredDefaults: a CRD's
// selectableFields work as field selectors (and change with the CRD), bad
// ones are 422, and defaults added to a schema show on objects stored
// before them.
func TestCustomResourceSelectableFieldsAndStoredDefaults(t *testing.T) {
	s := env.shared
	ns := s.namespace(t)
	group := strings.ReplaceAll(nsName(t.Name()), "-", "") + ".example.com"
	crd := func(selectable, extra string) string {
		return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.%[1]s}
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    selectableFields: [%[2]s]
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              color: {type: string}
              size: {type: integer}
              tags: {type: array, items: {type: string}}%[3]s
`, group, selectable, extra)
	}
	s.mustKubectlWith(t, runOpts{stdin: crd("{jsonPath: .spec.color}", "")}, "apply", "-f", "-")
	t.Cleanup(func() { s.kubectl(t, "delete", "crd", "gadgets."+group, "--wait=false") })
	s.mustKubectl(t, "wait", "--for=condition=Established", "crd/gadgets."+group, "--timeout=30s")
	for i, color := range []string{"red", "blue", "red"} {
		obj := fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g%d, namespace: %s}\nspec: {color: %s, size: %d}\n", group, i, ns, color, i)
		s.mustKubectlWith(t, runOpts{stdin: obj}, "apply", "-f", "-")
	}
	got := strings.TrimSpace(s.mustKubectl(t, "get", "gadgets", "-n", ns, "--field-selector", "spec.color=red", "-o", "name"))
	if got != "gadget."+group+"/g0\ngadget."+group+"/g2" {
		t.Errorf("spec.color=red selected %q", got)
	}
	r := s.kubectl(t, "get", "gadgets", "-n", ns, "--field-selector", "spec.size=1")
	mustContain(t, r.stderr, "field label not supported: spec.size")

	// Adding spec.size as selectable (and a default for a new field).
	s.mustKubectlWith(t, runOpts{stdin: crd("{jsonPath: .spec.color}, {jsonPath: .spec.size}", "\n              shape: {type: string, default: round}")}, "apply", "-f", "-")
	eventually(t, 20*time.Second, func() string {
		r := s.kubectl(t, "get", "gadgets", "-n", ns, "--field-selector", "spec.size=1", "-o", "name")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "gadget."+group+"/g1" {
			return r.combined()
		}
		return ""
	})
	// g0 was stored before shape had a default: reads show it.
	eventually(t, 20*time.Second, func() string {
		got := s.kubectl(t, "get", "gadget", "g0", "-n", ns, "-o", "jsonpath={.spec.shape}")
		if got.stdout != "round" {
			return "shape " + got.combined()
		}
		return ""
	})
	list := s.mustKubectl(t, "get", "gadgets", "-n", ns, "-o", "jsonpath={.items[*].spec.shape}")
	if list != "round round round" {
		t.Errorf("list shapes %q", list)
	}

	// Bad selectable fields are refused naming the field.
	r = s.kubectlWith(t, runOpts{stdin: crd("{jsonPath: .spec.tags}", "")}, "apply", "-f", "-")
	mustContain(t, r.stderr, "spec.versions[0].selectableFields[0].jsonPath", "must point to a field of type string, boolean or integer")
	r = s.kubectlWith(t, runOpts{stdin: crd("{jsonPath: .spec.nothere}", "")}, "apply", "-f", "-")
	mustContain(t, r.stderr, "does not refer to a valid field")
}

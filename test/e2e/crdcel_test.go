package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestCustomResourceCELRules: x-kubernetes-validations rules are enforced
// on create, update (transition rules with oldSelf) and status, with the
// rule's message; rules that do not compile refuse the CRD.
func TestCustomResourceCELRules(t *testing.T) {
	s := env.shared
	ns := s.namespace(t)
	group := strings.ReplaceAll(nsName(t.Name()), "-", "") + ".example.com"
	crd := func(rule string) string {
		return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: scalers.%[1]s}
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: scalers, singular: scaler, kind: Scaler}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: %[2]q
              message: replicas must not exceed maxReplicas
            properties:
              replicas: {type: integer}
              maxReplicas: {type: integer}
              region:
                type: string
                x-kubernetes-validations:
                - rule: "self == oldSelf"
                  message: region is immutable
`, group, rule)
	}
	r := s.kubectlWith(t, runOpts{stdin: crd("self.replicas <= self.nosuch")}, "apply", "-f", "-")
	mustContain(t, r.stderr, "x-kubernetes-validations[0].rule", "compilation failed")

	s.mustKubectlWith(t, runOpts{stdin: crd("self.replicas <= self.maxReplicas")}, "apply", "-f", "-")
	t.Cleanup(func() { s.kubectl(t, "delete", "crd", "scalers."+group, "--wait=false") })
	s.mustKubectl(t, "wait", "--for=condition=Established", "crd/scalers."+group, "--timeout=30s")
	obj := func(replicas int, region string) string {
		return fmt.Sprintf("apiVersion: %s/v1\nkind: Scaler\nmetadata: {name: s1, namespace: %s}\nspec: {replicas: %d, maxReplicas: 5, region: %s}\n", group, ns, replicas, region)
	}
	r = s.kubectlWith(t, runOpts{stdin: obj(9, "eu")}, "apply", "-f", "-")
	mustContain(t, r.stderr, "spec: Invalid value", "replicas must not exceed maxReplicas")
	s.mustKubectlWith(t, runOpts{stdin: obj(3, "eu")}, "apply", "-f", "-")
	r = s.kubectlWith(t, runOpts{stdin: obj(3, "us")}, "apply", "-f", "-")
	mustContain(t, r.stderr, "spec.region: Invalid value", "region is immutable")
	s.mustKubectlWith(t, runOpts{stdin: obj(4, "eu")}, "apply", "-f", "-")
}

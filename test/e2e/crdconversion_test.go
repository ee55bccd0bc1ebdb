package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// conversionHandler converts Sprockets between v1 (spec.hostPort
// "host:port") and v2 (spec.host, spec.port), as a conversion webhook.
func conversionHandler(<-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Request    struct {
				UID               string           `json:"uid"`
				DesiredAPIVersion string           `json:"desiredAPIVersion"`
				Objects           []map[string]any `json:"objects"`
			} `json:"request"`
		}
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var out []map[string]any
		for _, o := range review.Request.Objects {
			spec, _ := o["spec"].(map[string]any)
			if spec == nil {
				spec = map[string]any{}
			}
			if strings.HasSuffix(review.Request.DesiredAPIVersion, "/v2") {
				if hp, ok := spec["hostPort"].(string); ok {
					host, port, _ := strings.Cut(hp, ":")
					spec = map[string]any{"host": host, "port": port}
				}
			} else if host, ok := spec["host"].(string); ok {
				spec = map[string]any{"hostPort": fmt.Sprintf("%s:%v", host, spec["port"])}
			}
			o["spec"] = spec
			o["apiVersion"] = review.Request.DesiredAPIVersion
			out = append(out, o)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"apiVersion": review.APIVersion, "kind": review.Kind,
			"response": map[string]any{"uid": review.Request.UID, "convertedObjects": out, "result": map[string]any{"status": "Success"}},
		})
	})
}

// TestCRDConversionWebhook: a two-version CRD with a conversion webhook
// (a real HTTPS server of the test) serves each version in its own shape,
// whichever version wrote the object.
func TestCRDConversionWebhook(t *testing.T) {
	s := env.shared
	ns := s.namespace(t)
	hook := newTLSHookServer(t, conversionHandler)
	group := strings.ReplaceAll(nsName(t.Name()), "-", "") + ".example.com"
	crd := fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: sprockets.%[1]s}
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: sprockets, singular: sprocket, kind: Sprocket}
  conversion:
    strategy: Webhook
    webhook:
      conversionReviewVersions: [v1]
      clientConfig:
        url: https://%[2]s/convert
        caBundle: %[3]s
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {hostPort: {type: string}}}
  - name: v2
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {host: {type: string}, port: {type: string}}}
`, group, hook.addr, base64.StdEncoding.EncodeToString(hook.caPEM))
	s.mustKubectlWith(t, runOpts{stdin: crd}, "apply", "-f", "-")
	t.Cleanup(func() { s.kubectl(t, "delete", "crd", "sprockets."+group, "--wait=false") })
	s.mustKubectl(t, "wait", "--for=condition=Established", "crd/sprockets."+group, "--timeout=30s")

	// Written at v1, read at v2.
	s.mustKubectlWith(t, runOpts{stdin: fmt.Sprintf("apiVersion: %s/v1\nkind: Sprocket\nmetadata: {name: a, namespace: %s}\nspec: {hostPort: \"localhost:8080\"}\n", group, ns)}, "create", "-f", "-")
	got := s.mustKubectl(t, "get", "sprockets."+"v2."+group, "a", "-n", ns, "-o", "jsonpath={.apiVersion} {.spec.host} {.spec.port}")
	if got != group+"/v2 localhost 8080" {
		t.Errorf("v1 object read at v2: %q", got)
	}
	// Written at v2 (stored at v1), read at both.
	s.mustKubectlWith(t, runOpts{stdin: fmt.Sprintf("apiVersion: %s/v2\nkind: Sprocket\nmetadata: {name: b, namespace: %s}\nspec: {host: example.org, port: \"443\"}\n", group, ns)}, "create", "-f", "-")
	if got := s.mustKubectl(t, "get", "sprockets.v1."+group, "b", "-n", ns, "-o", "jsonpath={.spec.hostPort}"); got != "example.org:443" {
		t.Errorf("v2 object read at v1: %q", got)
	}
	if got := s.mustKubectl(t, "get", "sprockets.v2."+group, "-n", ns, "-o", "jsonpath={.items[*].spec.host}"); got != "localhost example.org" {
		t.Errorf("list at v2: %q", got)
	}
}

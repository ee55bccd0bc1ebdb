package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// conversionRecorder is what a test's conversion webhook saw and how it
// answers: the number of objects of each review, and whether it fails.
type conversionRecorder struct {
	mu      sync.Mutex
	batches []int
	fail    atomic.Bool
}

// take returns the batch sizes seen since the last call.
func (c *conversionRecorder) take() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.batches
	c.batches = nil
	return b
}

// conversionHandler converts Sprockets between v1 (spec.hostPort
// "host:port") and v2 (spec.host, spec.port), as a conversion webhook;
// when rec.fail is set it answers every review with a failure.
func (rec *conversionRecorder) conversionHandler(<-chan struct{}) http.Handler {
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
		rec.mu.Lock()
		rec.batches = append(rec.batches, len(review.Request.Objects))
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if rec.fail.Load() {
			_ = json.NewEncoder(w).Encode(map[string]any{
				"apiVersion": review.APIVersion, "kind": review.Kind,
				"response": map[string]any{"uid": review.Request.UID, "result": map[string]any{"status": "Failure", "message": "sprocket converter is broken"}},
			})
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
		_ = json.NewEncoder(w).Encode(map[string]any{
			"apiVersion": review.APIVersion, "kind": review.Kind,
			"response": map[string]any{"uid": review.Request.UID, "convertedObjects": out, "result": map[string]any{"status": "Success"}},
		})
	})
}

// TestCRDConversionWebhook: a two-version CRD with a conversion webhook
// (a real HTTPS server of the test) serves each version in its own shape,
// whichever version wrote the object; a list page is one review; a failing
// webhook fails reads (get, list, watch) instead of serving the stored
// version.
func TestCRDConversionWebhook(t *testing.T) {
	// A server of its own without controllers: the garbage collector
	// watches every resource at its preferred version (v2 here), so its
	// watch events would add reviews to the batches counted below.
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--run-controllers=false")
	ns := s.namespace(t)
	rec := &conversionRecorder{}
	hook := newTLSHookServer(t, rec.conversionHandler)
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

	// One review per list page, carrying every object of the page that
	// needs conversion (both are stored at v1).
	s.mustKubectlWith(t, runOpts{stdin: fmt.Sprintf("apiVersion: %s/v1\nkind: Sprocket\nmetadata: {name: c, namespace: %s}\nspec: {hostPort: \"c:1\"}\n", group, ns)}, "create", "-f", "-")
	rec.take()
	if got := s.mustKubectl(t, "get", "sprockets.v2."+group, "-n", ns, "-o", "name"); strings.Count(got, "\n") != 3 {
		t.Errorf("list at v2: %q", got)
	}
	if b := rec.take(); !slices.Equal(b, []int{3}) {
		t.Errorf("list of 3 at v2: reviews of %v objects, want [3]", b)
	}
	s.mustKubectl(t, "get", "sprockets.v2."+group, "-n", ns, "--chunk-size=2")
	if b := rec.take(); !slices.Equal(b, []int{2, 1}) {
		t.Errorf("list of 3 at v2 in pages of 2: reviews of %v objects, want [2 1]", b)
	}
	s.mustKubectl(t, "get", "sprockets.v1."+group, "-n", ns)
	if b := rec.take(); len(b) != 0 {
		t.Errorf("list at the storage version called the webhook: %v", b)
	}

	// A failing webhook fails reads that need it, with a 500 naming it.
	rv := strings.TrimSpace(s.mustKubectl(t, "get", "sprockets.v1."+group, "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}"))
	rec.fail.Store(true)
	for _, args := range [][]string{
		{"get", "sprockets.v2." + group, "a", "-n", ns},
		{"get", "sprockets.v2." + group, "-n", ns},
		{"get", "--raw", fmt.Sprintf("/apis/%s/v2/namespaces/%s/sprockets/a", group, ns)},
	} {
		r := s.kubectl(t, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "conversion webhook for "+group+"/v1, Kind=Sprocket failed: sprocket converter is broken") ||
			!strings.Contains(r.stderr, "Internal error occurred") || strings.Contains(r.stdout, "hostPort") {
			t.Errorf("kubectl %v with a failing webhook: %s", args, r)
		}
	}
	if got := s.mustKubectl(t, "get", "sprockets.v1."+group, "a", "-n", ns, "-o", "jsonpath={.spec.hostPort}"); got != "localhost:8080" {
		t.Errorf("read at the storage version with the webhook down: %q", got)
	}
	// Writes at v2 need the webhook too.
	if r := s.kubectlWith(t, runOpts{stdin: fmt.Sprintf("apiVersion: %s/v2\nkind: Sprocket\nmetadata: {name: d, namespace: %s}\nspec: {host: d, port: \"1\"}\n", group, ns)}, "create", "-f", "-"); r.code == 0 || !strings.Contains(r.stderr, "conversion webhook") {
		t.Errorf("create at v2 with a failing webhook: %s", r)
	}
	// A watch at v2 ends with an ERROR event when a change cannot be converted.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := s.kubectlStream(t, ctx, "get", "--raw", fmt.Sprintf("/apis/%s/v2/namespaces/%s/sprockets?watch=1&resourceVersion=%s", group, ns, rv))
	s.mustKubectl(t, "label", "sprockets.v1."+group, "a", "-n", ns, "changed=yes")
	line := w.await(t, 30*time.Second, "an ERROR event", func(l string) bool { return strings.Contains(l, `"ERROR"`) })
	if !strings.Contains(line, "conversion webhook") || !strings.Contains(line, `"code":500`) {
		t.Errorf("watch error event: %s", line)
	}
}

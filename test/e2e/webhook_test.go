package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// hookServer is a real HTTPS admission webhook on 127.0.0.1, its
// certificate issued by a CA the test makes.
type hookServer struct {
	caPEM []byte
	addr  string // host:port
	port  int
}

// newHookServer serves the behaviours the tests need, by path.
func newHookServer(t *testing.T, dnsNames ...string) *hookServer {
	t.Helper()
	return newTLSHookServer(t, hookHandler, dnsNames...)
}

// newTLSHookServer serves handler (given a channel closed at cleanup) over
// HTTPS on 127.0.0.1 with a certificate from a fresh CA.
func newTLSHookServer(t *testing.T, handler func(done <-chan struct{}) http.Handler, dnsNames ...string) *hookServer {
	t.Helper()
	caPEM, cert := newServingPair(t, "webhook", []net.IP{net.ParseIP("127.0.0.1")}, dnsNames)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	srv := &http.Server{Handler: handler(done), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { close(done); _ = srv.Close() })
	return &hookServer{caPEM: caPEM, addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port}
}

// newServingPair makes a fresh CA (returned as PEM) and a serving
// certificate it issued for cn with the given addresses and names.
func newServingPair(t *testing.T, cn string, ips []net.IP, dnsNames []string) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn + "-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: ips, DNSNames: dnsNames}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// review is the part of an AdmissionReview the test webhooks use.
type review struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Request    json.RawMessage `json:"request,omitempty"`
	Response   map[string]any  `json:"response,omitempty"`
}

func hookHandler(done <-chan struct{}) http.Handler {
	answer := func(w http.ResponseWriter, r *http.Request, resp map[string]any) {
		var in review
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &in)
		var req struct {
			UID      string `json:"uid"`
			UserInfo struct {
				Username string `json:"username"`
			} `json:"userInfo"`
		}
		_ = json.Unmarshal(in.Request, &req)
		resp["uid"] = req.UID
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review{APIVersion: in.APIVersion, Kind: "AdmissionReview", Response: resp})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/deny", func(w http.ResponseWriter, r *http.Request) {
		answer(w, r, map[string]any{"allowed": false, "status": map[string]any{"code": 403, "message": "configmaps named bad are not welcome"}})
	})
	mux.HandleFunc("/allow-warn", func(w http.ResponseWriter, r *http.Request) {
		answer(w, r, map[string]any{"allowed": true, "warnings": []string{"careful with that configmap"}, "auditAnnotations": map[string]string{"checked": "yes"}})
	})
	mux.HandleFunc("/label", func(w http.ResponseWriter, r *http.Request) {
		patch := base64.StdEncoding.EncodeToString([]byte(`[{"op":"add","path":"/metadata/labels","value":{"mutated-by":"webhook"}}]`))
		answer(w, r, map[string]any{"allowed": true, "patchType": "JSONPatch", "patch": patch})
	})
	mux.HandleFunc("/brokenpatch", func(w http.ResponseWriter, r *http.Request) {
		patch := base64.StdEncoding.EncodeToString([]byte(`[{"op":"replace","path":"/data","value":"not-a-map"}]`))
		answer(w, r, map[string]any{"allowed": true, "patchType": "JSONPatch", "patch": patch})
	})
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "this is not an AdmissionReview")
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
	return mux
}

// hookConfig renders a webhook configuration limited to configmaps in ns.
func hookConfig(kind, name, clientConfig string, extra string, ns string) string {
	return fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: %s
metadata:
  name: %s
webhooks:
- name: %s.e2e.kastle.dev
  clientConfig:
%s
  rules:
  - operations: ["CREATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["configmaps"]
  namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: %s
  sideEffects: None
  admissionReviewVersions: ["v1"]
%s`, kind, name, name, clientConfig, ns, extra)
}

func urlClient(h *hookServer, path string) string {
	return fmt.Sprintf("    url: https://%s%s\n    caBundle: %s", h.addr, path, base64.StdEncoding.EncodeToString(h.caPEM))
}

// TestWebhookAdmission runs real webhooks against a dedicated server
// (webhook configurations are cluster-wide).
func TestWebhookAdmission(t *testing.T) {
	dir := t.TempDir()
	auditLog := dir + "/audit.log"
	policyFile := writeFile(t, "audit-policy.yaml", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n", 0o600)
	s := startServer(t, dir+"/data", "--audit-log-path", auditLog, "--audit-policy-file", policyFile)
	ns := s.namespace(t)
	auditHas := func(want string) string {
		b, err := os.ReadFile(auditLog)
		if err != nil || !strings.Contains(string(b), want) {
			return "audit log lacks " + want
		}
		return ""
	}
	hooks := newHookServer(t, "hook."+ns+".svc")

	createCM := func(name string, extra ...string) result {
		return s.kubectl(t, append([]string{"-n", ns, "create", "configmap", name, "--from-literal=k=v"}, extra...)...)
	}
	apply := func(y string) { t.Helper(); s.mustKubectlWith(t, runOpts{stdin: y}, "apply", "-f", "-") }
	del := func(kind, name string) { s.kubectl(t, "delete", kind, name, "--ignore-not-found") }

	t.Run("validating URL webhook denies", func(t *testing.T) {
		apply(hookConfig("ValidatingWebhookConfiguration", "deny", urlClient(hooks, "/deny"),
			"  matchConditions:\n  - name: only-bad\n    expression: 'object.metadata.name.startsWith(\"bad\")'\n", ns))
		defer del("validatingwebhookconfiguration", "deny")
		eventually(t, 20*time.Second, func() string {
			r := createCM(fmt.Sprintf("bad-%d", time.Now().UnixNano()))
			if r.code == 0 || !strings.Contains(r.combined(), `admission webhook "deny.e2e.kastle.dev" denied the request: configmaps named bad are not welcome`) {
				return "not denied yet: " + r.combined()
			}
			return ""
		})
		// matchConditions: other names are not sent to the webhook.
		if r := createCM("good"); r.code != 0 {
			t.Fatalf("good configmap refused: %s", r.combined())
		}
	})

	t.Run("mutating Service webhook patches labels", func(t *testing.T) {
		// Endpoints may not name loopback addresses: an ExternalName
		// service leads to the test's listener on localhost.
		svc := fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: hook, namespace: %s}
spec:
  type: ExternalName
  externalName: localhost
  ports: [{name: https, port: %d}]
`, ns, hooks.port)
		apply(svc)
		cc := fmt.Sprintf("    service: {name: hook, namespace: %s, path: /label, port: %d}\n    caBundle: %s", ns, hooks.port, base64.StdEncoding.EncodeToString(hooks.caPEM))
		apply(hookConfig("MutatingWebhookConfiguration", "label", cc, "", ns))
		defer del("mutatingwebhookconfiguration", "label")
		eventually(t, 20*time.Second, func() string {
			name := fmt.Sprintf("m-%d", time.Now().UnixNano())
			if r := createCM(name); r.code != 0 {
				return r.combined()
			}
			out := s.mustKubectl(t, "-n", ns, "get", "configmap", name, "-o", "jsonpath={.metadata.labels.mutated-by}")
			if out != "webhook" {
				return "label not set: " + out
			}
			return ""
		})
	})

	t.Run("warnings reach kubectl", func(t *testing.T) {
		apply(hookConfig("ValidatingWebhookConfiguration", "warn", urlClient(hooks, "/allow-warn"), "", ns))
		defer del("validatingwebhookconfiguration", "warn")
		eventually(t, 20*time.Second, func() string {
			r := createCM(fmt.Sprintf("w-%d", time.Now().UnixNano()))
			if !strings.Contains(r.stderr, "Warning: careful with that configmap") {
				return "no warning: " + r.combined()
			}
			return ""
		})
		// The webhook's audit annotations land in the audit event, under its name.
		eventually(t, 20*time.Second, func() string { return auditHas(`"warn.e2e.kastle.dev/checked":"yes"`) })
	})

	t.Run("failurePolicy with a down webhook", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		down := ln.Addr().String()
		ln.Close()
		cc := fmt.Sprintf("    url: https://%s/\n    caBundle: %s", down, base64.StdEncoding.EncodeToString(hooks.caPEM))
		apply(hookConfig("ValidatingWebhookConfiguration", "down", cc, "  failurePolicy: Fail\n", ns))
		eventually(t, 20*time.Second, func() string {
			r := createCM(fmt.Sprintf("d-%d", time.Now().UnixNano()))
			if r.code == 0 || !strings.Contains(r.combined(), `failed calling webhook "down.e2e.kastle.dev"`) {
				return "not failed: " + r.combined()
			}
			return ""
		})
		apply(hookConfig("ValidatingWebhookConfiguration", "down", cc, "  failurePolicy: Ignore\n", ns))
		defer del("validatingwebhookconfiguration", "down")
		eventually(t, 20*time.Second, func() string {
			if r := createCM(fmt.Sprintf("i-%d", time.Now().UnixNano())); r.code != 0 {
				return "still failing with Ignore: " + r.combined()
			}
			return ""
		})
	})

	t.Run("hanging webhook is bounded by timeoutSeconds", func(t *testing.T) {
		apply(hookConfig("ValidatingWebhookConfiguration", "hang", urlClient(hooks, "/hang"), "  timeoutSeconds: 1\n", ns))
		defer del("validatingwebhookconfiguration", "hang")
		eventually(t, 20*time.Second, func() string {
			r := createCM(fmt.Sprintf("h-%d", time.Now().UnixNano()))
			if r.code == 0 || !strings.Contains(r.combined(), "context deadline exceeded") {
				return "not timed out: " + r.combined()
			}
			return ""
		})
	})

	t.Run("garbage response and broken patch are clean errors", func(t *testing.T) {
		apply(hookConfig("ValidatingWebhookConfiguration", "garbage", urlClient(hooks, "/garbage"), "", ns))
		eventually(t, 20*time.Second, func() string {
			r := createCM(fmt.Sprintf("g-%d", time.Now().UnixNano()))
			if r.code == 0 || !strings.Contains(r.combined(), "received invalid webhook response") {
				return "garbage accepted: " + r.combined()
			}
			return ""
		})
		del("validatingwebhookconfiguration", "garbage")
		apply(hookConfig("MutatingWebhookConfiguration", "broken", urlClient(hooks, "/brokenpatch"), "", ns))
		defer del("mutatingwebhookconfiguration", "broken")
		eventually(t, 20*time.Second, func() string {
			r := createCM("broken")
			if r.code == 0 || !strings.Contains(r.combined(), `failed calling webhook "broken.e2e.kastle.dev": patched object is invalid`) {
				return "broken patch not refused: " + r.combined()
			}
			return ""
		})
		if r := s.kubectl(t, "-n", ns, "get", "configmap", "broken"); r.code == 0 {
			t.Fatalf("a broken patch was stored: %s", r.stdout)
		}
	})

	t.Run("dry run to a webhook with side effects is refused", func(t *testing.T) {
		y := strings.Replace(hookConfig("ValidatingWebhookConfiguration", "fx", urlClient(hooks, "/allow-warn"), "", ns), "sideEffects: None", "sideEffects: NoneOnDryRun", 1)
		apply(y)
		defer del("validatingwebhookconfiguration", "fx")
		// NoneOnDryRun is allowed with dry run: the warning proves the call.
		eventually(t, 20*time.Second, func() string {
			r := createCM("dry", "--dry-run=server")
			if r.code != 0 || !strings.Contains(r.stderr, "careful") {
				return "dry run: " + r.combined()
			}
			return ""
		})
	})

	t.Run("malformed configurations are 422", func(t *testing.T) {
		for _, c := range []struct{ yaml, want string }{
			{hookConfig("ValidatingWebhookConfiguration", "bad1", "    url: http://127.0.0.1/x", "", ns), "'https' is the only allowed URL scheme"},
			{hookConfig("ValidatingWebhookConfiguration", "bad2", "    url: https://u:p@127.0.0.1/x?q=1", "", ns), "user information is not permitted in the URL"},
			{strings.Replace(hookConfig("ValidatingWebhookConfiguration", "bad3", urlClient(hooks, "/"), "", ns), "  sideEffects: None\n", "", 1), "webhooks[0].sideEffects: Required value"},
			{hookConfig("MutatingWebhookConfiguration", "bad4", urlClient(hooks, "/"), "  matchConditions:\n  - name: x\n    expression: 'object.nope('\n", ns), "webhooks[0].matchConditions[0].expression: Invalid value"},
			{strings.Replace(hookConfig("ValidatingWebhookConfiguration", "bad5", urlClient(hooks, "/"), "", ns), "name: bad5.e2e.kastle.dev", "name: bad5", 1), "webhooks[0].name: Invalid value"},
			{`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: badpolicy}
spec:
  matchConstraints:
    resourceRules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}]
  validations:
  - expression: "object.data.size() <"
`, "spec.validations[0].expression: Invalid value"},
		} {
			r := s.kubectlWith(t, runOpts{stdin: c.yaml}, "create", "-f", "-")
			if r.code == 0 || !strings.Contains(r.stderr, "is invalid") || !strings.Contains(r.stderr, c.want) {
				t.Errorf("want 422 with %q, got: %s", c.want, r.combined())
			}
		}
	})

	t.Run("defaults", func(t *testing.T) {
		apply(hookConfig("MutatingWebhookConfiguration", "defaults", urlClient(hooks, "/label"), "", "nowhere"))
		defer del("mutatingwebhookconfiguration", "defaults")
		out := s.mustKubectl(t, "get", "mutatingwebhookconfiguration", "defaults", "-o",
			"jsonpath={.webhooks[0].failurePolicy} {.webhooks[0].matchPolicy} {.webhooks[0].timeoutSeconds} {.webhooks[0].reinvocationPolicy} {.webhooks[0].rules[0].scope} {.webhooks[0].objectSelector}")
		if out != "Fail Equivalent 10 Never * {}" {
			t.Fatalf("defaults: %q", out)
		}
		mustContain(t, s.mustKubectl(t, "get", "mutatingwebhookconfigurations"), "NAME", "WEBHOOKS", "defaults")
	})

	t.Run("DELETE is sent with the old object", func(t *testing.T) {
		s.mustKubectl(t, "-n", ns, "create", "configmap", "old-keep", "--from-literal=k=v")
		y := strings.Replace(hookConfig("ValidatingWebhookConfiguration", "nodelete", urlClient(hooks, "/deny"),
			"  matchConditions:\n  - name: old-bad\n    expression: 'oldObject.metadata.name == \"old-keep\"'\n", ns), `["CREATE"]`, `["DELETE"]`, 1)
		apply(y)
		defer del("validatingwebhookconfiguration", "nodelete")
		eventually(t, 20*time.Second, func() string {
			r := s.kubectl(t, "-n", ns, "delete", "configmap", "old-keep")
			if r.code == 0 {
				s.mustKubectl(t, "-n", ns, "create", "configmap", "old-keep", "--from-literal=k=v")
				return "delete allowed"
			}
			if !strings.Contains(r.stderr, `denied the request: configmaps named bad are not welcome`) {
				return r.combined()
			}
			return ""
		})
	})

	t.Run("ValidatingAdmissionPolicy denies and warns", func(t *testing.T) {
		policy := fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-big}
spec:
  matchConstraints:
    resourceRules: [{operations: [CREATE, UPDATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}]
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %s}}
  variables:
  - name: keys
    expression: "has(object.data) ? object.data.size() : 0"
  validations:
  - expression: "variables.keys < 2"
    messageExpression: "'too many keys: ' + string(variables.keys)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-big-binding}
spec:
  policyName: no-big
  validationActions: [Deny]
`, ns)
		apply(policy)
		defer func() {
			del("validatingadmissionpolicybinding", "no-big-binding")
			del("validatingadmissionpolicy", "no-big")
		}()
		eventually(t, 20*time.Second, func() string {
			r := s.kubectl(t, "-n", ns, "create", "configmap", "big", "--from-literal=a=1", "--from-literal=b=2")
			if r.code == 0 || !strings.Contains(r.stderr, `configmaps "big" is forbidden: ValidatingAdmissionPolicy 'no-big' with binding 'no-big-binding' denied request: too many keys: 2`) {
				s.kubectl(t, "-n", ns, "delete", "configmap", "big", "--ignore-not-found")
				return "not denied: " + r.combined()
			}
			return ""
		})
		if r := createCM("small"); r.code != 0 {
			t.Fatalf("small configmap refused: %s", r.combined())
		}
		// status.typeChecking: the expressions type-check against ConfigMap.
		eventually(t, 20*time.Second, func() string {
			out := s.mustKubectl(t, "get", "validatingadmissionpolicy", "no-big", "-o", "jsonpath={.status.observedGeneration} {.status.typeChecking}")
			if !strings.HasPrefix(out, "1 ") || strings.Contains(out, "expressionWarnings") {
				return "status: " + out
			}
			return ""
		})
		s.mustKubectl(t, "patch", "validatingadmissionpolicy", "no-big", "--type=json", "-p",
			`[{"op":"add","path":"/spec/validations/-","value":{"expression":"object.data.k == 1"}}]`)
		eventually(t, 20*time.Second, func() string {
			out := s.mustKubectl(t, "get", "validatingadmissionpolicy", "no-big", "-o", "jsonpath={.status.observedGeneration} {.status.typeChecking.expressionWarnings[0].fieldRef} {.status.typeChecking.expressionWarnings[0].warning}")
			if !strings.HasPrefix(out, "2 spec.validations[1].expression /v1, Kind=ConfigMap: ") || !strings.Contains(out, "no matching overload") {
				return "status: " + out
			}
			return ""
		})
		s.mustKubectl(t, "patch", "validatingadmissionpolicy", "no-big", "--type=json", "-p", `[{"op":"remove","path":"/spec/validations/1"}]`)
		s.mustKubectl(t, "patch", "validatingadmissionpolicybinding", "no-big-binding", "--type=merge", "-p", `{"spec":{"validationActions":["Warn","Audit"]}}`)
		eventually(t, 20*time.Second, func() string {
			name := fmt.Sprintf("big-%d", time.Now().UnixNano())
			r := s.kubectl(t, "-n", ns, "create", "configmap", name, "--from-literal=a=1", "--from-literal=b=2")
			if r.code != 0 || !strings.Contains(r.stderr, "Warning: Validation failed for ValidatingAdmissionPolicy 'no-big' with binding 'no-big-binding': too many keys: 2") {
				return "no warning: " + r.combined()
			}
			return ""
		})
		eventually(t, 20*time.Second, func() string { return auditHas(`validation.policy.admission.k8s.io/validation_failure`) })
	})
}

package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// wardle is a small aggregated API server: HTTPS with a certificate for
// its Service's DNS name, it accepts only connections presenting a client
// certificate of the request-header CA kastle publishes in
// kube-system/extension-apiserver-authentication (with an allowed common
// name), reads the user from the published headers, and serves discovery,
// a list, a get and a watch of "flunders", and OpenAPI documents.
type wardle struct {
	caPEM []byte
	port  int
	srv   *http.Server

	mu    sync.Mutex
	users []string // "user|group,group" of every resource request
}

const wardleGV = "wardle.example.com/v1alpha1"

func (w *wardle) seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.users...)
}

// startWardle starts the server for Service name.ns, trusting what the
// published ConfigMap says.
func startWardle(t *testing.T, s *server, ns, name string) *wardle {
	t.Helper()
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal([]byte(s.mustKubectl(t, "-n", "kube-system", "get", "configmap", "extension-apiserver-authentication", "-o", "json")), &cm); err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	if !clientCAs.AppendCertsFromPEM([]byte(cm.Data["requestheader-client-ca-file"])) {
		t.Fatalf("no request-header CA published: %v", cm.Data)
	}
	var allowed, userHeaders, groupHeaders []string
	for k, into := range map[string]*[]string{"requestheader-allowed-names": &allowed, "requestheader-username-headers": &userHeaders,
		"requestheader-group-headers": &groupHeaders} {
		if err := json.Unmarshal([]byte(cm.Data[k]), into); err != nil {
			t.Fatalf("%s: %q: %v", k, cm.Data[k], err)
		}
	}
	if len(userHeaders) == 0 || len(groupHeaders) == 0 {
		t.Fatalf("header names not published: %v", cm.Data)
	}

	caPEM, cert := newServingPair(t, name+"."+ns+".svc", nil, []string{name + "." + ns + ".svc"})
	w := &wardle{caPEM: caPEM}

	writeJSON := func(rw http.ResponseWriter, code int, v any) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(code)
		_ = json.NewEncoder(rw).Encode(v)
	}
	flunder := func(ns, name string) map[string]any {
		return map[string]any{"apiVersion": wardleGV, "kind": "Flunder",
			"metadata": map[string]any{"name": name, "namespace": ns, "creationTimestamp": "2026-01-01T00:00:00Z", "resourceVersion": "1"}}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/wardle.example.com/v1alpha1", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": wardleGV,
			"resources": []map[string]any{{"name": "flunders", "singularName": "flunder", "namespaced": true, "kind": "Flunder",
				"verbs": []string{"get", "list", "watch"}, "shortNames": []string{"fl"}}}})
	})
	mux.HandleFunc("/apis/wardle.example.com/v1alpha1/namespaces/{ns}/flunders", func(rw http.ResponseWriter, r *http.Request) {
		ns := r.PathValue("ns")
		if r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1" {
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(200)
			_ = json.NewEncoder(rw).Encode(map[string]any{"type": "ADDED", "object": flunder(ns, "watched")})
			rw.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		writeJSON(rw, 200, map[string]any{"apiVersion": wardleGV, "kind": "FlunderList", "metadata": map[string]any{"resourceVersion": "1"},
			"items": []any{flunder(ns, "first"), flunder(ns, "second")}})
	})
	mux.HandleFunc("/apis/wardle.example.com/v1alpha1/namespaces/{ns}/flunders/{name}", func(rw http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != "first" && r.PathValue("name") != "second" {
			writeJSON(rw, 404, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
				"message": fmt.Sprintf("flunders %q not found", r.PathValue("name"))})
			return
		}
		writeJSON(rw, 200, flunder(r.PathValue("ns"), r.PathValue("name")))
	})
	mux.HandleFunc("/apis/wardle.example.com/v1alpha1/namespaces/{ns}/flunders/{name}/attach", func(rw http.ResponseWriter, r *http.Request) {
		// An upgraded connection (exec-style) answers one line.
		conn, brw, err := http.NewResponseController(rw).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + r.Header.Get("Upgrade") + "\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("attached to " + r.PathValue("name") + ": " + line)
		_ = brw.Flush()
	})
	mux.HandleFunc("/openapi/v2", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, map[string]any{"swagger": "2.0", "info": map[string]any{"title": "wardle", "version": "v0"},
			"paths":       map[string]any{"/apis/wardle.example.com/v1alpha1/namespaces/{namespace}/flunders": map[string]any{}},
			"definitions": map[string]any{"com.example.wardle.v1alpha1.Flunder": map[string]any{"type": "object", "description": "A wardle flunder."}}})
	})
	mux.HandleFunc("/openapi/v3", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, map[string]any{"paths": map[string]any{"apis/wardle.example.com/v1alpha1": map[string]any{
			"serverRelativeURL": "/openapi/v3/apis/wardle.example.com/v1alpha1?hash=ABC"}}})
	})
	mux.HandleFunc("/openapi/v3/apis/wardle.example.com/v1alpha1", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, 200, map[string]any{"openapi": "3.0.0", "info": map[string]any{"title": "wardle flunders", "version": "v0"}, "paths": map[string]any{}})
	})
	handler := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		// Only the front proxy may call, and only it says who the user is.
		if len(r.TLS.PeerCertificates) == 0 || (len(allowed) > 0 && !slices.Contains(allowed, r.TLS.PeerCertificates[0].Subject.CommonName)) {
			writeJSON(rw, 401, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 401, "reason": "Unauthorized"})
			return
		}
		u := r.Header.Get(userHeaders[0])
		if u == "" {
			writeJSON(rw, 401, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 401, "reason": "Unauthorized"})
			return
		}
		if strings.Contains(r.URL.Path, "/flunders") {
			w.mu.Lock()
			w.users = append(w.users, u+"|"+strings.Join(r.Header.Values(groupHeaders[0]), ","))
			w.mu.Unlock()
		}
		mux.ServeHTTP(rw, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.port = ln.Addr().(*net.TCPAddr).Port
	w.srv = &http.Server{Handler: handler, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}}
	go func() { _ = w.srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = w.srv.Close() })
	return w
}

// TestAggregatedAPIServer registers a real extension API server through
// an APIService and uses it through kubectl: availability, discovery,
// list/get/watch as the authenticated user, OpenAPI, RBAC before any
// proxying, and 503 once the server is gone.
func TestAggregatedAPIServer(t *testing.T) {
	t.Parallel()
	// A private server: an unavailable APIService makes discovery
	// incomplete for every other client of the server.
	s := startServer(t, t.TempDir(), "--token-auth-file", writeFile(t, "tokens.csv", staticTokens, 0o600))
	ns := "wardle"
	s.mustKubectl(t, "create", "namespace", ns)
	w := startWardle(t, s, ns, "api")
	// Endpoints may not name loopback addresses: an ExternalName service
	// leads to the extension's listener on localhost.
	apply := func(yaml string) { s.mustKubectlWith(t, runOpts{stdin: yaml}, "apply", "-f", "-") }
	apply(fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: api, namespace: %s}
spec:
  type: ExternalName
  externalName: localhost
  ports: [{name: https, port: %d}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.wardle.example.com}
spec:
  group: wardle.example.com
  version: v1alpha1
  service: {namespace: %s, name: api, port: %d}
  caBundle: %s
  groupPriorityMinimum: 1000
  versionPriority: 15
`, ns, w.port, ns, w.port, base64.StdEncoding.EncodeToString(w.caPEM)))

	available := func(want string) func() string {
		return func() string {
			out := s.kubectl(t, "get", "apiservice", "v1alpha1.wardle.example.com", "--no-headers").combined()
			if f := fields(out); len(f) < 3 || f[2] != want {
				return "apiservice: " + out
			}
			return ""
		}
	}
	eventually(t, 30*time.Second, available("True"))
	if out := s.mustKubectl(t, "get", "apiservice", "v1alpha1.wardle.example.com", "-o", "jsonpath={.status.conditions[0].reason}"); out != "Passed" {
		t.Errorf("reason %q, want Passed", out)
	}

	t.Run("discovery", func(t *testing.T) {
		eventually(t, 20*time.Second, func() string {
			out := s.kubectl(t, "api-resources", "--api-group=wardle.example.com", "--no-headers").combined()
			if f := fields(out); len(f) < 5 || f[0] != "flunders" || f[1] != "fl" || f[2] != wardleGV || f[3] != "true" || f[4] != "Flunder" {
				return "api-resources: " + out
			}
			return ""
		})
		out := s.mustKubectl(t, "get", "--raw", "/apis")
		mustContain(t, out, `"name":"wardle.example.com"`, `"groupVersion":"wardle.example.com/v1alpha1"`)
		mustContain(t, s.mustKubectl(t, "get", "--raw", "/apis/wardle.example.com"), `"preferredVersion":{"groupVersion":"wardle.example.com/v1alpha1"`)
		mustContain(t, s.mustKubectl(t, "get", "--raw", "/"), `"/apis/wardle.example.com/v1alpha1"`)
		// /apis/<group>/<version> is the extension's own document.
		mustContain(t, s.mustKubectl(t, "get", "--raw", "/apis/wardle.example.com/v1alpha1"), `"shortNames":["fl"]`)
	})

	t.Run("list get watch as the user", func(t *testing.T) {
		out := strings.TrimSpace(s.mustKubectl(t, "-n", ns, "get", "flunders", "-o", "name"))
		if out != "flunder.wardle.example.com/first\nflunder.wardle.example.com/second" {
			t.Errorf("list: %q", out)
		}
		if out := s.mustKubectl(t, "-n", ns, "get", "fl", "second", "-o", "jsonpath={.kind}/{.metadata.name}"); out != "Flunder/second" {
			t.Errorf("get: %q", out)
		}
		r := s.kubectl(t, "-n", ns, "get", "flunder", "missing")
		mustContain(t, r.combined(), `NotFound`, `flunders "missing" not found`)
		seen := w.seen()
		if len(seen) == 0 || !slices.ContainsFunc(seen, func(u string) bool {
			return strings.HasPrefix(u, "kubernetes-admin|") && strings.Contains(u, "system:authenticated")
		}) {
			t.Errorf("the extension saw %v, want kubernetes-admin with its groups", seen)
		}
		// An upgraded connection is spliced through kastle's chain.
		admin := extractAdmin(t, s)
		pair, err := tls.LoadX509KeyPair(admin.cert, admin.key)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		caPEM, err := os.ReadFile(admin.ca)
		if err != nil {
			t.Fatal(err)
		}
		roots.AppendCertsFromPEM(caPEM)
		conn, err := tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(conn, "POST /apis/wardle.example.com/v1alpha1/namespaces/%s/flunders/first/attach HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nContent-Length: 0\r\n\r\n", ns)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(resp.Body)
			t.Fatalf("upgrade through kastle: %v %v %s", resp, err, body)
		}
		fmt.Fprintf(conn, "hello\n")
		if line, err := br.ReadString('\n'); err != nil || line != "attached to first: hello\n" {
			t.Errorf("through the upgraded connection: %q %v", line, err)
		}

		ls := s.kubectlStream(t, t.Context(), "-n", ns, "get", "flunders", "--watch-only", "-o", "name")
		ls.await(t, 20*time.Second, "watched flunder", func(l string) bool { return l == "flunder.wardle.example.com/watched" })
	})

	t.Run("RBAC before proxying", func(t *testing.T) {
		// A bearer token and no client certificate: token-alice.
		list := func() curlResult {
			return curl(t, s, nil, "/apis/wardle.example.com/v1alpha1/namespaces/"+ns+"/flunders",
				"-H", "Authorization: Bearer e2e-static-token-0123456789")
		}
		before := len(w.seen())
		r := list()
		if r.status != 403 {
			t.Errorf("unauthorized list: %d %s", r.status, r.body)
		}
		mustContain(t, r.body, `"reason":"Forbidden"`, `User \"token-alice\" cannot list resource \"flunders\" in API group \"wardle.example.com\"`)
		if after := len(w.seen()); after != before {
			t.Errorf("a forbidden request reached the extension (%d → %d requests)", before, after)
		}
		// Granted, the extension sees token-alice and her groups.
		s.mustKubectl(t, "-n", ns, "create", "role", "flunder-reader", "--verb=list", "--resource=flunders.wardle.example.com")
		s.mustKubectl(t, "-n", ns, "create", "rolebinding", "alice-flunders", "--role=flunder-reader", "--user=token-alice")
		eventually(t, 10*time.Second, func() string {
			if r := list(); r.status != 200 {
				return fmt.Sprintf("granted list: %d %s", r.status, r.body)
			}
			return ""
		})
		if seen := w.seen(); !slices.Contains(seen, "token-alice|devs,ops,system:authenticated") {
			t.Errorf("the extension saw %v", seen)
		}
	})

	t.Run("openapi", func(t *testing.T) {
		eventually(t, 20*time.Second, func() string {
			if out := s.kubectl(t, "get", "--raw", "/openapi/v2").stdout; !strings.Contains(out, `"com.example.wardle.v1alpha1.Flunder"`) ||
				!strings.Contains(out, `"io.k8s.api.core.v1.Pod"`) {
				return "extension definition missing from /openapi/v2"
			}
			return ""
		})
		mustContain(t, s.mustKubectl(t, "get", "--raw", "/openapi/v3"), `"apis/wardle.example.com/v1alpha1"`, `"api/v1"`)
		mustContain(t, s.mustKubectl(t, "get", "--raw", "/openapi/v3/apis/wardle.example.com/v1alpha1?hash=ABC"), `"title":"wardle flunders"`)
	})

	t.Run("request-header authentication", func(t *testing.T) {
		pki := filepath.Join(s.dataDir, "pki")
		proxy := &adminFiles{cert: filepath.Join(pki, "front-proxy-client.crt"), key: filepath.Join(pki, "front-proxy-client.key")}
		review := []string{"-X", "POST", "-H", "Content-Type: application/json", "-d", `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`}
		r := curl(t, s, proxy, "/apis/authentication.k8s.io/v1/selfsubjectreviews",
			append([]string{"-H", "X-Remote-User: carol", "-H", "X-Remote-Group: team-a", "-H", "X-Remote-Group: team-b",
				"-H", "X-Remote-Extra-Example.com%2fscope: read"}, review...)...)
		if r.status != 201 {
			t.Fatalf("front proxy request: %d %s", r.status, r.body)
		}
		mustContain(t, r.body, `"username":"carol"`, `"groups":["team-a","team-b","system:authenticated"]`, `"example.com/scope":["read"]`)
		// Without the proxy's certificate the headers are nobody's word.
		r = curl(t, s, nil, "/apis/authentication.k8s.io/v1/selfsubjectreviews", append([]string{"-H", "X-Remote-User: carol"}, review...)...)
		if strings.Contains(r.body, "carol") {
			t.Errorf("headers trusted without the proxy certificate: %d %s", r.status, r.body)
		}
		// The proxy certificate alone (no user header) is no identity:
		// it is not a client certificate of the cluster CA.
		if r := curl(t, s, proxy, "/api"); r.status != 401 {
			t.Errorf("proxy certificate without headers: %d, want 401", r.status)
		}
	})

	t.Run("bad APIService", func(t *testing.T) {
		for spec, field := range map[string]string{
			`{group: bad.example.com, version: v1, groupPriorityMinimum: 0, versionPriority: 15, service: {namespace: default, name: svc}}`:                                               "spec.groupPriorityMinimum",
			`{group: bad.example.com, version: v1, groupPriorityMinimum: 100, versionPriority: 1001, service: {namespace: default, name: svc}}`:                                           "spec.versionPriority",
			`{group: bad.example.com, version: v1, groupPriorityMinimum: 100, versionPriority: 1, service: {namespace: default}}`:                                                         "spec.service.name",
			`{group: bad.example.com, version: v1, groupPriorityMinimum: 100, versionPriority: 1, service: {namespace: default, name: svc, port: 70000}}`:                                 "spec.service.port",
			`{group: bad.example.com, version: v1, groupPriorityMinimum: 100, versionPriority: 1, service: {namespace: default, name: svc}, insecureSkipTLSVerify: true, caBundle: Zm9v}`: "spec.insecureSkipTLSVerify",
			`{group: bad.example.com, version: v1, groupPriorityMinimum: 100, versionPriority: 1, caBundle: Zm9v}`:                                                                        "spec.caBundle",
		} {
			r := s.kubectlWith(t, runOpts{stdin: "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1.bad.example.com}\nspec: " + spec + "\n"}, "create", "-f", "-")
			mustContain(t, r.combined(), "is invalid", field)
		}
	})

	t.Run("unavailable", func(t *testing.T) {
		// A Service without endpoints.
		apply(fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: noeps, namespace: %s}
spec: {ports: [{port: 443}]}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1.noeps.example.com}
spec: {group: noeps.example.com, version: v1, groupPriorityMinimum: 100, versionPriority: 10, service: {namespace: %s, name: noeps}, insecureSkipTLSVerify: true}
`, ns, ns))
		eventually(t, 20*time.Second, func() string {
			if out := s.kubectl(t, "get", "apiservice", "v1.noeps.example.com", "-o", "jsonpath={.status.conditions[0].reason}").stdout; out != "MissingEndpoints" {
				return "reason " + out
			}
			return ""
		})
		s.mustKubectl(t, "delete", "apiservice", "v1.noeps.example.com")

		_ = w.srv.Close()
		// The first request after the server went away notices it.
		_ = s.kubectl(t, "-n", ns, "get", "flunders")
		eventually(t, 40*time.Second, available("False"))
		if out := s.mustKubectl(t, "get", "apiservice", "v1alpha1.wardle.example.com", "-o", "jsonpath={.status.conditions[0].reason}"); out != "FailedDiscoveryCheck" {
			t.Errorf("reason %q, want FailedDiscoveryCheck", out)
		}
		r := curl(t, s, ptr(extractAdmin(t, s)), "/apis/wardle.example.com/v1alpha1/namespaces/"+ns+"/flunders")
		if r.status != 503 {
			t.Errorf("unavailable APIService: %d %s", r.status, r.body)
		}
		mustContain(t, r.body, `"kind":"Status"`, `"reason":"ServiceUnavailable"`)
		// The group stays listed, without resources.
		mustContain(t, s.mustKubectl(t, "get", "--raw", "/apis"), `"name":"wardle.example.com"`)
	})
}

func ptr[T any](v T) *T { return &v }

package aggregator

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

func TestEscapeExtraKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"scopes", "scopes"},
		{"example.com/team", "example.com%2Fteam"},
		{"a b%c", "a%20b%25c"},
		{"ünï", "%C3%BCn%C3%AF"},
	} {
		if got := escapeExtraKey(tc.in); got != tc.want {
			t.Errorf("escapeExtraKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSetIdentity(t *testing.T) {
	a := &Aggregator{cfg: Config{Headers: Headers{Username: "X-Remote-User", Group: "X-Remote-Group", ExtraPrefix: "X-Remote-Extra-",
		Strip: []string{"X-Proxy-User"}, StripPrefixes: []string{"X-Proxy-Extra-"}}}}
	tests := []struct {
		name string
		in   http.Header
		u    *user.Info
		want http.Header
	}{
		{name: "caller's identity headers never pass",
			in: http.Header{"Authorization": {"Bearer secret"}, "Impersonate-User": {"root"}, "Impersonate-Extra-Scopes": {"x"},
				"X-Remote-User": {"mallory"}, "X-Remote-Group": {"system:masters"}, "X-Remote-Extra-Scopes": {"all"},
				"X-Proxy-User": {"mallory"}, "X-Proxy-Extra-A": {"b"}, "Accept": {"application/json"}},
			u:    &user.Info{Name: "alice", Groups: []string{"devs", "system:authenticated"}},
			want: http.Header{"Accept": {"application/json"}, "X-Remote-User": {"alice"}, "X-Remote-Group": {"devs", "system:authenticated"}}},
		{name: "extra keys escaped",
			in:   http.Header{},
			u:    &user.Info{Name: "bob", Extra: map[string][]string{"example.com/scope": {"a", "b"}, "reason": {"audit"}}},
			want: http.Header{"X-Remote-User": {"bob"}, "X-Remote-Extra-Example.com%2fscope": {"a", "b"}, "X-Remote-Extra-Reason": {"audit"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.setIdentity(tc.in, tc.u)
			// Compare canonically: Add canonicalises names.
			want := http.Header{}
			for k, vs := range tc.want {
				for _, v := range vs {
					want.Add(k, v)
				}
			}
			if !reflect.DeepEqual(tc.in, want) {
				t.Errorf("headers %v, want %v", tc.in, want)
			}
		})
	}
}

// objects is an in-memory Getter of Services and Endpoints.
type objects map[string]runtime.Object

func (o objects) Get(_ context.Context, ns, name, _ string) (runtime.Object, error) {
	if obj, ok := o[ns+"/"+name]; ok {
		return obj, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "services"}, name)
}

// List implements webhook.Lister for the EndpointSlices among o.
func (o objects) List(_ context.Context, ns string, opts *metav1.ListOptions) (runtime.Object, error) {
	sel, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return nil, err
	}
	list := &discoveryv1.EndpointSliceList{}
	for k, obj := range o {
		if es, ok := obj.(*discoveryv1.EndpointSlice); ok && strings.HasPrefix(k, ns+"/") && sel.Matches(labels.Set(es.Labels)) {
			list.Items = append(list.Items, *es)
		}
	}
	return list, nil
}

// testPKI makes the front-proxy CA with a client certificate written to
// files, and a serving CA with a certificate for dnsName.
type testPKI struct {
	proxyCA      *x509.CertPool
	client       tls.Certificate
	servingCAPEM []byte
	serving      tls.Certificate
	proxyCN      string
}

func newCert(t testing.TB, cn string, dns []string, usage x509.ExtKeyUsage, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: dns,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		parent, parentKey = tmpl, key
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func newTestPKI(t testing.TB, dnsNames ...string) *testPKI {
	p := &testPKI{proxyCN: "front-proxy-client"}
	ca, caKey := newCert(t, "front-proxy-ca", nil, 0, nil, nil)
	p.proxyCA = x509.NewCertPool()
	p.proxyCA.AddCert(ca)
	cc, ck := newCert(t, p.proxyCN, nil, x509.ExtKeyUsageClientAuth, ca, caKey)
	p.client = tls.Certificate{Certificate: [][]byte{cc.Raw}, PrivateKey: ck}
	sca, scaKey := newCert(t, "serving-ca", nil, 0, nil, nil)
	sc, sk := newCert(t, dnsNames[0], dnsNames, x509.ExtKeyUsageServerAuth, sca, scaKey)
	p.servingCAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sca.Raw})
	p.serving = tls.Certificate{Certificate: [][]byte{sc.Raw}, PrivateKey: sk}
	return p
}

// extension is a real HTTPS extension server requiring the proxy's client
// certificate; it records the identity headers of each request.
type extension struct {
	srv  *httptest.Server
	port int32
	mu   sync.Mutex
	seen []http.Header
	// discoveryCode is what /apis/<group>/<version> answers.
	discoveryCode int
}

func newExtension(t testing.TB, p *testPKI) *extension {
	e := &extension{discoveryCode: 200}
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/wardle.example.com/v1alpha1", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		code := e.discoveryCode
		e.mu.Unlock()
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(metav1.APIResourceList{GroupVersion: "wardle.example.com/v1alpha1",
			APIResources: []metav1.APIResource{{Name: "flunders", Namespaced: true, Kind: "Flunder", Verbs: []string{"get", "list", "watch"}}}})
	})
	mux.HandleFunc("/apis/wardle.example.com/v1alpha1/flunders", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen = append(e.seen, r.Header.Clone())
		e.mu.Unlock()
		if r.URL.Query().Get("watch") != "true" {
			_, _ = io.WriteString(w, `{"kind":"FlunderList","items":[]}`)
			return
		}
		// A watch: the first event must reach the client while the
		// stream is still open.
		_, _ = io.WriteString(w, `{"type":"ADDED","object":{"kind":"Flunder"}}`+"\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/apis/wardle.example.com/v1alpha1/namespaces/x/flunders/y/attach", func(w http.ResponseWriter, r *http.Request) {
		// An upgraded connection echoes one line back.
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo: " + line)
		_ = brw.Flush()
	})
	mux.HandleFunc("/openapi/v2", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"swagger":"2.0","paths":{},"definitions":{"com.example.Flunder":{"type":"object"}}}`)
	})
	e.srv = httptest.NewUnstartedServer(mux)
	e.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are test cases
	e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.serving}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.proxyCA}
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	_, port, _ := net.SplitHostPort(e.srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	e.port = int32(n)
	return e
}

func apiService(ns, name string, port int32, caBundle []byte) apiregistrationv1.APIService {
	return apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1alpha1.wardle.example.com"},
		Spec: apiregistrationv1.APIServiceSpec{Group: "wardle.example.com", Version: "v1alpha1", GroupPriorityMinimum: 1000, VersionPriority: 15,
			Service: &apiregistrationv1.ServiceReference{Namespace: ns, Name: name, Port: &port}, CABundle: caBundle}}
}

func TestSyncAndProxy(t *testing.T) {
	p := newTestPKI(t, "api.wardle.svc", "api.sliced.svc")
	ext := newExtension(t, p)
	port := ext.port
	ready, notReady := true, false
	portName := "https"
	services := objects{
		// Only EndpointSlices: the first ready endpoint is dialled.
		"sliced/api": &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: port}}}},
		"sliced/api-abc": &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{discoveryv1.LabelServiceName: "api"}},
			Ports: []discoveryv1.EndpointPort{{Name: &portName, Port: &port}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &notReady}},
				{Addresses: []string{"127.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}},
		// ExternalName: the address is the name itself (here loopback).
		"wardle/api":     &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "127.0.0.1"}},
		"wardle/wrong":   &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 8443}}}},
		"wardle/noeps":   &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: port}}}},
		"wardle/badcert": &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "127.0.0.1"}},
	}
	a, err := New(Config{ClientCert: func() (*tls.Certificate, error) { return &p.client, nil }, Headers: DefaultHeaders(),
		Services: services, Endpoints: objects{}, EndpointSlices: services, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ns, svc  string
		caBundle       []byte
		discoveryCode  int
		reason         string
		wantResources  bool
		wantProxyCode  int
		wantOpenAPIDef bool
	}{
		{name: "service missing", svc: "gone", caBundle: p.servingCAPEM, reason: ReasonServiceNotFound, wantProxyCode: 503},
		{name: "port not on the service", svc: "wrong", caBundle: p.servingCAPEM, reason: ReasonServicePortError, wantProxyCode: 503},
		{name: "no endpoints", svc: "noeps", caBundle: p.servingCAPEM, reason: ReasonMissingEndpoints, wantProxyCode: 503},
		{name: "untrusted serving certificate", svc: "badcert", reason: ReasonFailedDiscoveryCheck, wantProxyCode: 503},
		{name: "caBundle not PEM", svc: "api", caBundle: []byte("junk"), reason: ReasonFailedDiscoveryCheck, wantProxyCode: 503},
		{name: "discovery fails", svc: "api", caBundle: p.servingCAPEM, discoveryCode: 500, reason: ReasonFailedDiscoveryCheck, wantProxyCode: 503},
		{name: "available through EndpointSlices", ns: "sliced", svc: "api", caBundle: p.servingCAPEM, reason: ReasonPassed, wantResources: true, wantProxyCode: 200, wantOpenAPIDef: true},
		{name: "available", svc: "api", caBundle: p.servingCAPEM, reason: ReasonPassed, wantResources: true, wantProxyCode: 200, wantOpenAPIDef: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ext.mu.Lock()
			ext.discoveryCode = 200
			if tc.discoveryCode != 0 {
				ext.discoveryCode = tc.discoveryCode
			}
			ext.mu.Unlock()
			gen := a.Generation()
			ns := "wardle"
			if tc.ns != "" {
				ns = tc.ns
			}
			conds := a.Sync(context.Background(), []apiregistrationv1.APIService{
				apiService(ns, tc.svc, port, tc.caBundle),
				{ObjectMeta: metav1.ObjectMeta{Name: "v1.apps"}, Spec: apiregistrationv1.APIServiceSpec{Group: "apps", Version: "v1"}},
			})
			c, ok := conds["v1alpha1.wardle.example.com"]
			if !ok || len(conds) != 1 {
				t.Fatalf("conditions %v: want the remote APIService only", conds)
			}
			if c.Reason != tc.reason || (c.Status == apiregistrationv1.ConditionTrue) != (tc.reason == ReasonPassed) {
				t.Errorf("condition %+v, want reason %s", c, tc.reason)
			}
			ext := a.External()
			if len(ext) != 1 || ext[0].GroupVersion.Group != "wardle.example.com" || (ext[0].Resources != nil) != tc.wantResources {
				t.Errorf("external %+v", ext)
			}
			if tc.ns == "sliced" && a.Generation() == gen { // the first available case
				t.Error("generation did not move when the resources appeared")
			}
			if got := len(a.OpenAPIV2()) == 1; got != tc.wantOpenAPIDef {
				t.Errorf("openapi documents %d", len(a.OpenAPIV2()))
			}
			req := httptest.NewRequest(http.MethodGet, "/apis/wardle.example.com/v1alpha1/flunders", nil)
			req = req.WithContext(request.WithUser(req.Context(), &user.Info{Name: "alice", Groups: []string{"devs"}}))
			req.Header.Set("X-Remote-User", "mallory")
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			if rec.Code != tc.wantProxyCode {
				t.Fatalf("proxied: %d %s", rec.Code, rec.Body)
			}
			if rec.Code == 503 && !strings.Contains(rec.Body.String(), `"kind":"Status"`) {
				t.Errorf("503 without a Status: %s", rec.Body)
			}
		})
	}
	seen := ext.seen[len(ext.seen)-1]
	if seen.Get("X-Remote-User") != "alice" || strings.Join(seen.Values("X-Remote-Group"), ",") != "devs" {
		t.Errorf("extension saw %v", seen)
	}

	t.Run("no user in context fails closed", func(t *testing.T) {
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/apis/wardle.example.com/v1alpha1/flunders", nil))
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("code %d", rec.Code)
		}
	})

	t.Run("watch streams", func(t *testing.T) {
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.ServeHTTP(w, r.WithContext(request.WithUser(r.Context(), &user.Info{Name: "alice"})))
		}))
		defer front.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/apis/wardle.example.com/v1alpha1/flunders?watch=true", nil)
		resp, err := front.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// The extension never ends the stream: reading the first event
		// proves it was not buffered.
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || !strings.Contains(line, `"ADDED"`) {
			t.Fatalf("first event %q, %v", line, err)
		}
	})

	t.Run("upgrade is spliced", func(t *testing.T) {
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.ServeHTTP(w, r.WithContext(request.WithUser(r.Context(), &user.Info{Name: "alice"})))
		}))
		defer front.Close()
		conn, err := net.Dial("tcp", front.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "POST /apis/wardle.example.com/v1alpha1/namespaces/x/flunders/y/attach HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		fmt.Fprintf(conn, "hello\n")
		if line, err := br.ReadString('\n'); err != nil || line != "echo: hello\n" {
			t.Errorf("through the upgraded connection: %q %v", line, err)
		}
	})

	t.Run("routes", func(t *testing.T) {
		for path, want := range map[string]bool{
			"/apis/wardle.example.com/v1alpha1":                            true,
			"/apis/wardle.example.com/v1alpha1/namespaces/x/flunders/y":    true,
			"/apis/wardle.example.com":                                     false,
			"/apis/wardle.example.com/v1":                                  false,
			"/apis/apps/v1/deployments":                                    false,
			"/api/v1/pods":                                                 false,
			"/openapi/v3/apis/wardle.example.com/v1alpha1":                 false,
			fmt.Sprintf("/apis/%s/%s/x", "wardle.example.com", "v1alpha1"): true,
		} {
			if got := a.Routes(path); got != want {
				t.Errorf("Routes(%q) = %v", path, got)
			}
		}
		if !a.RoutesOpenAPI("/openapi/v3/apis/wardle.example.com/v1alpha1") || a.RoutesOpenAPI("/openapi/v3/apis/apps/v1") {
			t.Error("RoutesOpenAPI")
		}
	})

	t.Run("removed APIService is no longer routed", func(t *testing.T) {
		if conds := a.Sync(context.Background(), nil); len(conds) != 0 || a.Routes("/apis/wardle.example.com/v1alpha1") || len(a.External()) != 0 {
			t.Errorf("still routed: %v", conds)
		}
	})
}

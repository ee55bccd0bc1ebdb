package filters

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authn"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/pki"
)

type nopObserver struct{}

func (nopObserver) Observe(*http.Request, *request.Info, int, time.Duration) {}
func (nopObserver) InFlight(int)                                             {}

// newServer serves h behind the whole chain over TLS that requests (but
// does not require) client certificates from ca.
func newServer(t *testing.T, ca *pki.CA, h http.Handler, maxRO, maxMut int) *httptest.Server {
	t.Helper()
	chain := Chain(h, Config{
		Log:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
		Authenticator:       authn.Union{&authn.X509{Roots: ca.Pool()}, authn.Anonymous{}},
		Authorizer:          testAuthorizer{},
		MaxRequestsInFlight: maxRO, MaxMutatingInFlight: maxMut,
		Metrics: nopObserver{}, RequestTimeout: time.Minute,
		Audit: func(h http.Handler) http.Handler { return h },
	})
	srv := httptest.NewUnstartedServer(chain)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// client returns an HTTPS client presenting the given certificate (none
// when certPEM is nil).
func client(t *testing.T, srv *httptest.Server, certPEM, keyPEM []byte) *http.Client {
	t.Helper()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	if certPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Transport: tr}
}

func get(t *testing.T, c *http.Client, url string) (int, metav1.Status, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var st metav1.Status
	_ = json.Unmarshal(body, &st)
	return resp.StatusCode, st, string(body)
}

func TestAuthenticationAndAuthorization(t *testing.T) {
	ca, err := pki.NewSelfSignedCA("test-ca", pki.ECDSAP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := pki.NewSelfSignedCA("test-ca", pki.ECDSAP256, time.Hour)
	var seen *request.Info
	srv := newServer(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := request.UserFrom(r.Context())
		seen, _ = request.InfoFrom(r.Context())
		_ = json.NewEncoder(w).Encode(u)
	}), 10, 10)

	good, goodKey, _ := ca.IssueClientCert("alice", []string{"devs"}, time.Hour)
	expiredCert, expiredKey, err := ca.IssueKeyPair(pki.CertSpec{CommonName: "old", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: time.Nanosecond}, pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	expiredKeyPEM, _ := pki.EncodeKeyPEM(expiredKey)
	foreignCert, foreignKey, _ := foreign.IssueClientCert("mallory", []string{"system:masters"}, time.Hour)
	serverOnly, serverOnlyKey, _ := ca.IssueKeyPair(pki.CertSpec{CommonName: "srv", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: time.Hour}, pki.ECDSAP256)
	serverOnlyKeyPEM, _ := pki.EncodeKeyPEM(serverOnlyKey)

	tests := []struct {
		name      string
		cert, key []byte
		path      string
		code      int
		reason    metav1.StatusReason
	}{
		{"valid cert", good, goodKey, "/api/v1/namespaces", 200, ""},
		{"no cert, public path", nil, nil, "/healthz", 200, ""},
		{"no cert, version", nil, nil, "/version", 200, ""},
		{"no cert, API", nil, nil, "/api/v1/namespaces", 403, metav1.StatusReasonForbidden},
		{"expired cert", pki.EncodeCertPEM(expiredCert), expiredKeyPEM, "/healthz", 401, metav1.StatusReasonUnauthorized},
		{"foreign CA", foreignCert, foreignKey, "/healthz", 401, metav1.StatusReasonUnauthorized},
		{"serverAuth-only cert", pki.EncodeCertPEM(serverOnly), serverOnlyKeyPEM, "/healthz", 401, metav1.StatusReasonUnauthorized},
		{"too deep path", good, goodKey, "/api/v1/namespaces/a/configmaps/b/c/d", 404, metav1.StatusReasonNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, st, body := get(t, client(t, srv, tt.cert, tt.key), srv.URL+tt.path)
			if code != tt.code || (tt.reason != "" && st.Reason != tt.reason) {
				t.Errorf("GET %s = %d %s, want %d %s", tt.path, code, body, tt.code, tt.reason)
			}
		})
	}
	code, _, body := get(t, client(t, srv, good, goodKey), srv.URL+"/api/v1/namespaces/x/configmaps")
	var u struct {
		Name   string
		Groups []string
	}
	_ = json.Unmarshal([]byte(body), &u)
	if code != 200 || u.Name != "alice" || len(u.Groups) != 2 || u.Groups[0] != "devs" || u.Groups[1] != "system:authenticated" {
		t.Errorf("user = %+v (%d)", u, code)
	}
	if seen == nil || seen.Verb != "list" || seen.Namespace != "x" || seen.Resource != "configmaps" {
		t.Errorf("request info = %+v", seen)
	}
	_, st, _ := get(t, client(t, srv, nil, nil), srv.URL+"/api/v1/namespaces/x/configmaps")
	if want := `configmaps is forbidden: User "system:anonymous" cannot list resource "configmaps" in API group "" in the namespace "x"`; st.Message != want {
		t.Errorf("403 message = %q, want %q", st.Message, want)
	}
}

func TestPanicRecovery(t *testing.T) {
	ca, _ := pki.NewSelfSignedCA("test-ca", pki.ECDSAP256, time.Hour)
	srv := newServer(t, ca, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), 10, 10)
	code, st, _ := get(t, client(t, srv, nil, nil), srv.URL+"/healthz")
	if code != 500 || st.Reason != metav1.StatusReasonInternalError {
		t.Errorf("panic = %d %+v, want 500 InternalError", code, st)
	}
	// The server survives the panic.
	if code, _, _ := get(t, client(t, srv, nil, nil), srv.URL+"/healthz"); code != 500 {
		t.Errorf("second request = %d", code)
	}
}

func TestMaxInFlight(t *testing.T) {
	ca, _ := pki.NewSelfSignedCA("test-ca", pki.ECDSAP256, time.Hour)
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	srv := newServer(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("block") == "1" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(200)
	}), 1, 1)
	good, goodKey, _ := ca.IssueClientCert("alice", nil, time.Hour)
	c := client(t, srv, good, goodKey)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		get(t, c, srv.URL+"/api/v1/namespaces/x/configmaps/a?block=1")
	}()
	<-entered
	resp, err := c.Get(srv.URL + "/api/v1/namespaces/x/configmaps/b")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over the read-only limit: %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Watches are long-running and never counted.
	if code, _, _ := get(t, c, srv.URL+"/api/v1/namespaces/x/configmaps?watch=1"); code != 200 {
		t.Errorf("watch while the read-only budget is used up = %d, want 200", code)
	}
	close(release)
	wg.Wait()
}

// impersonators lets alice impersonate the user bob and the group ops,
// and nothing else.
type impersonators struct{}

func (impersonators) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	if a.Info.Verb != "impersonate" {
		return authz.Allow, "", nil
	}
	if a.User.Name == "alice" && ((a.Info.Resource == "users" && a.Info.Name == "bob") || (a.Info.Resource == "groups" && a.Info.Name == "ops")) {
		return authz.Allow, "", nil
	}
	return authz.NoOpinion, "", nil
}

func TestImpersonation(t *testing.T) {
	alice := &user.Info{Name: "alice", Groups: []string{"system:authenticated"}}
	var got *user.Info
	h := WithImpersonation(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = request.UserFrom(r.Context())
		if r.Header.Get("Impersonate-User") != "" {
			t.Error("impersonation header passed on")
		}
	}), impersonators{})
	tests := []struct {
		name    string
		headers map[string][]string
		code    int
		want    string
		groups  []string
	}{
		{"none", nil, 200, "alice", []string{"system:authenticated"}},
		{"allowed user", map[string][]string{"Impersonate-User": {"bob"}}, 200, "bob", []string{"system:authenticated"}},
		{"allowed user and group", map[string][]string{"Impersonate-User": {"bob"}, "Impersonate-Group": {"ops"}}, 200, "bob", []string{"ops", "system:authenticated"}},
		{"denied user", map[string][]string{"Impersonate-User": {"root"}}, 403, "", nil},
		{"denied group", map[string][]string{"Impersonate-User": {"bob"}, "Impersonate-Group": {"system:masters"}}, 403, "", nil},
		{"group without user", map[string][]string{"Impersonate-Group": {"ops"}}, 400, "", nil},
		{"service account", map[string][]string{"Impersonate-User": {"system:serviceaccount:ns:sa"}}, 403, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			r := httptest.NewRequest("GET", "/api/v1/namespaces", nil)
			for k, vs := range tt.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			r = r.WithContext(request.WithUser(r.Context(), alice))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.code {
				t.Fatalf("code %d (%s), want %d", rec.Code, rec.Body, tt.code)
			}
			if tt.code != 200 {
				if got != nil {
					t.Error("handler ran")
				}
				return
			}
			if got.Name != tt.want || strings.Join(got.Groups, ",") != strings.Join(tt.groups, ",") {
				t.Errorf("user %+v, want %s %v", got, tt.want, tt.groups)
			}
		})
	}
}

// testAuthorizer allows everyone GET of /healthz and /version, and
// authenticated users everything: enough policy to test the filters
// without RBAC.
type testAuthorizer struct{}

func (testAuthorizer) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	if !a.Info.IsResourceRequest && a.Info.Verb == "get" && (a.Info.Path == "/healthz" || a.Info.Path == "/version") {
		return authz.Allow, "", nil
	}
	for _, g := range a.User.Groups {
		if g == "system:authenticated" {
			return authz.Allow, "", nil
		}
	}
	return authz.NoOpinion, "", nil
}

func TestRequestTimeoutSparesLongRunning(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		deadline     bool
	}{
		{"GET", "/api/v1/namespaces/a/pods", true},
		{"GET", "/api/v1/namespaces/a/pods?watch=true", false},
		{"GET", "/api/v1/namespaces/a/pods/p/log", false},
		{"POST", "/api/v1/namespaces/a/pods/p/exec", false},
		{"POST", "/apis/wardle.example.com/v1alpha1/namespaces/a/flunders/f/attach", false},
		{"GET", "/api/v1/nodes/n/proxy/logs/", false},
		{"POST", "/api/v1/namespaces/a/pods/p/eviction", true},
	} {
		var hasDeadline bool
		h := WithRequestInfo(WithRequestTimeout(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, hasDeadline = r.Context().Deadline()
		}), time.Minute))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.path, nil))
		if hasDeadline != tc.deadline {
			t.Errorf("%s %s: deadline %v, want %v", tc.method, tc.path, hasDeadline, tc.deadline)
		}
	}
}

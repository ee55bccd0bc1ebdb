package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestSubresourceAndVerb(t *testing.T) {
	for path, want := range map[string]string{
		"/healthz": "proxy", "/pods": "proxy", "/configz": "proxy", "/": "proxy", "/runningpods/": "proxy",
		"/stats": "stats", "/stats/summary": "stats", "/statsx": "proxy",
		"/metrics": "metrics", "/metrics/cadvisor": "metrics", "/metrics/resource": "metrics",
		"/logs": "log", "/logs/syslog": "log", "/spec/": "spec", "/checkpoint/ns/pod/c": "checkpoint",
	} {
		if got := subresource(path); got != want {
			t.Errorf("subresource(%q) = %q, want %q", path, got, want)
		}
	}
	for method, want := range map[string]string{
		"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete",
	} {
		if got := verb(method); got != want {
			t.Errorf("verb(%s) = %s, want %s", method, got, want)
		}
	}
}

// fakeAuthz allows users by name and subresource, and records the asks.
type fakeAuthz struct {
	mu    sync.Mutex
	allow map[string]bool // "user/subresource"
	asked []attributes
	err   error
}

func (f *fakeAuthz) Authorize(_ context.Context, u *userInfo, a attributes) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, a)
	if f.err != nil {
		return false, "", f.err
	}
	return f.allow[u.Name+"/"+a.Subresource], "no rule", nil
}

// TestAuthnAuthz: the filter chain over TLS, with certificates made here
// and bearer tokens checked by a (fake) TokenReview.
func TestAuthnAuthz(t *testing.T) {
	ca := testCA(t)
	other := testCA(t)
	roots := ca.Pool()
	cs := fake.NewClientset()
	reviews := 0
	cs.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		reviews++
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview)
		if tr.Spec.Token == "good-token" {
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true,
				User: authenticationv1.UserInfo{Username: "system:serviceaccount:ns:prober", Groups: []string{"system:serviceaccounts"}}}
		}
		return true, tr, nil
	})
	authz := &fakeAuthz{allow: map[string]bool{
		"alice/proxy": true, "system:serviceaccount:ns:prober/proxy": true, "scraper/metrics": true,
	}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	authn := unionAuthenticator{
		&x509Authenticator{roots: roots, now: time.Now},
		&tokenReviewAuthenticator{client: func() kubernetes.Interface { return cs }, cache: newTTLCache[*userInfo](time.Now)},
	}
	srv := httptest.NewUnstartedServer(withChain(ok, authn, authz, "n1", log))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{servingPair(t, ca)},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: roots}
	srv.StartTLS()
	defer srv.Close()

	client := func(cert *tls.Certificate) *http.Client {
		cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	do := func(c *http.Client, method, path, token string) (int, string, error) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), nil
	}
	for _, tc := range []struct {
		name         string
		cert         *tls.Certificate
		method, path string
		token        string
		want         int
	}{
		{"anonymous", nil, "GET", "/healthz", "", 401},
		{"alice proxy", clientPair(t, ca, "alice", "devs"), "GET", "/pods", "", 200},
		{"alice metrics", clientPair(t, ca, "alice", "devs"), "GET", "/metrics", "", 403},
		{"scraper metrics", clientPair(t, ca, "scraper"), "GET", "/metrics/cadvisor", "", 200},
		{"scraper healthz", clientPair(t, ca, "scraper"), "GET", "/healthz", "", 403},
		{"bob", clientPair(t, ca, "bob"), "GET", "/healthz", "", 403},
		{"good token", nil, "GET", "/configz", "good-token", 200},
		{"bad token", nil, "GET", "/configz", "bad-token", 401},
		{"basic auth is no token", nil, "GET", "/configz", "", 401},
	} {
		code, body, err := do(client(tc.cert), tc.method, tc.path, tc.token)
		if err != nil || code != tc.want {
			t.Errorf("%s: %d %q %v, want %d", tc.name, code, body, err, tc.want)
		}
		if code == 403 && !strings.Contains(body, "subresource(s)=[") {
			t.Errorf("%s: 403 body %q", tc.name, body)
		}
	}
	// The authorizer was asked about this node.
	for _, a := range authz.asked {
		if a.Node != "n1" || a.Verb != "get" {
			t.Errorf("asked %+v", a)
		}
	}
	// A certificate of another CA never authenticates.
	if code, _, err := do(client(clientPair(t, other, "alice")), "GET", "/healthz", ""); err == nil && code != 401 {
		t.Errorf("foreign certificate: %d", code)
	}
	// Token reviews are cached.
	before := reviews
	for range 3 {
		if code, _, _ := do(client(nil), "GET", "/healthz", "good-token"); code != 200 {
			t.Errorf("cached token: %d", code)
		}
	}
	if reviews != before {
		t.Errorf("%d token reviews for cached tokens", reviews-before)
	}
	// An authorizer error denies.
	authz.err = errors.New("api down")
	if code, _, _ := do(client(clientPair(t, ca, "alice")), "GET", "/pods", ""); code != 403 {
		t.Errorf("authorizer error: %d, want 403", code)
	}
}

// TestX509Authenticator checks usage and expiry, which the TLS listener
// may not (a listener that only requests certificates).
func TestX509Authenticator(t *testing.T) {
	ca := testCA(t)
	a := &x509Authenticator{roots: ca.Pool(), now: time.Now}
	req := func(c *tls.Certificate) *http.Request {
		r := httptest.NewRequest("GET", "/healthz", nil)
		if c != nil {
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.Leaf}}
		}
		return r
	}
	if u, err := a.Authenticate(req(clientPair(t, ca, "alice", "devs", "ops"))); err != nil || u == nil || u.Name != "alice" || len(u.Groups) != 2 {
		t.Errorf("alice: %+v %v", u, err)
	}
	srv := servingPair(t, ca)
	if u, _ := a.Authenticate(req(&srv)); u != nil {
		t.Errorf("a server-auth certificate authenticated %+v", u)
	}
	if u, _ := a.Authenticate(req(nil)); u != nil {
		t.Errorf("no certificate authenticated %+v", u)
	}
	a.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if u, _ := a.Authenticate(req(clientPair(t, ca, "alice"))); u != nil {
		t.Errorf("an expired certificate authenticated %+v", u)
	}
}

// TestSARAuthorizer: the review asks about nodes/<subresource> of the
// node, carries the user, and its answer is cached.
func TestSARAuthorizer(t *testing.T) {
	cs := fake.NewClientset()
	var got []authorizationv1.SubjectAccessReviewSpec
	cs.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		got = append(got, sar.Spec)
		sar.Status.Allowed = sar.Spec.User == "alice"
		sar.Status.Reason = "because"
		return true, sar, nil
	})
	z := &sarAuthorizer{client: func() kubernetes.Interface { return cs }, cache: newTTLCache[sarResult](time.Now)}
	ctx := context.Background()
	alice := &userInfo{Name: "alice", UID: "u1", Groups: []string{"devs"}, Extra: map[string][]string{"scopes": {"a"}}}
	for range 2 {
		ok, _, err := z.Authorize(ctx, alice, attributes{Verb: "get", Subresource: "proxy", Node: "n1"})
		if err != nil || !ok {
			t.Fatalf("alice: %v %v", ok, err)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d reviews, want 1 (cached)", len(got))
	}
	ra := got[0].ResourceAttributes
	if got[0].User != "alice" || got[0].UID != "u1" || got[0].Groups[0] != "devs" || got[0].Extra["scopes"][0] != "a" ||
		ra == nil || ra.Resource != "nodes" || ra.Subresource != "proxy" || ra.Name != "n1" || ra.Verb != "get" || ra.Group != "" {
		t.Errorf("review %+v %+v", got[0], ra)
	}
	ok, reason, err := z.Authorize(ctx, &userInfo{Name: "bob"}, attributes{Verb: "get", Subresource: "stats", Node: "n1"})
	if err != nil || ok || reason != "because" {
		t.Errorf("bob: %v %q %v", ok, reason, err)
	}
}

// TestAuthorizationWithoutUser: fail closed when the chain lacks
// authentication.
func TestAuthorizationWithoutUser(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := withAuthorization(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler reached") }),
		&fakeAuthz{allow: map[string]bool{"/proxy": true}}, "n1", log)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status %d", rec.Code)
	}
}

func TestTTLCache(t *testing.T) {
	now := time.Unix(0, 0)
	c := newTTLCache[int](func() time.Time { return now })
	c.put("a", 1, time.Minute)
	if v, ok := c.get("a"); !ok || v != 1 {
		t.Errorf("get a = %v %v", v, ok)
	}
	now = now.Add(time.Minute)
	if _, ok := c.get("a"); ok {
		t.Error("expired entry returned")
	}
	for i := range ttlCacheMax + 1 {
		c.put(string(rune(i)), i, time.Minute)
	}
	if len(c.m) > ttlCacheMax {
		t.Errorf("cache holds %d entries", len(c.m))
	}
}

// TestConfigz: kubelet's shape, durations as strings, the real port.
func TestConfigz(t *testing.T) {
	cfg := &Config{DataDir: "/d", NodeName: "n1", Port: 0}
	if err := cfg.Complete(nil); err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: cfg}
	a.port.Store(43210)
	rec := httptest.NewRecorder()
	a.serveConfigz(rec, httptest.NewRequest("GET", "/configz", nil))
	body := rec.Body.String()
	for _, want := range []string{`"kubeletconfig":{`, `"nodeName":"n1"`, `"nodeStatusUpdateFrequency":"10s"`, `"port":43210`, `"nodeLeaseDurationSeconds":40`} {
		if !strings.Contains(body, want) {
			t.Errorf("configz lacks %s: %s", want, body)
		}
	}
	if strings.Contains(body, "DisableServer") {
		t.Errorf("configz shows internal fields: %s", body)
	}
}

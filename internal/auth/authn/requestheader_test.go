package authn

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

func TestRequestHeader(t *testing.T) {
	proxyCA := newTestCA(t, "front-proxy-ca", nil)
	clientCA := newTestCA(t, "cluster-ca", nil)
	caFile, err := NewCAFile(tempFile(t, "rh-ca.crt", pemBlock("CERTIFICATE", proxyCA.cert.Raw)), newTestClock().Now, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	proxyCert, _ := proxyCA.issue(t, leafOpts{cn: "front-proxy-client"})
	otherProxy, _ := proxyCA.issue(t, leafOpts{cn: "someone-else"})
	serverOnly, _ := proxyCA.issue(t, leafOpts{cn: "front-proxy-client", usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	userCert, _ := clientCA.issue(t, leafOpts{cn: "alice"})
	// A CA with the proxy CA's name but another key passes the cheap
	// issuer-name check; the signature check must still refuse it.
	imposterCA := newTestCA(t, "front-proxy-ca", nil)
	imposter, _ := imposterCA.issue(t, leafOpts{cn: "front-proxy-client"})

	a := &RequestHeader{CA: caFile, AllowedNames: []string{"front-proxy-client"},
		UsernameHeaders: []string{"X-Remote-User"}, GroupHeaders: []string{"X-Remote-Group"},
		ExtraPrefixes: []string{"X-Remote-Extra-"}, Cache: NewChainCache(0)}

	tests := []struct {
		name    string
		cert    *x509.Certificate
		headers map[string][]string
		want    *RequestHeader // nil: use a
		ok      bool
		user    string
		groups  []string
		extra   map[string][]string
	}{
		{name: "proxy with user, groups and extra", cert: proxyCert, headers: map[string][]string{
			"X-Remote-User": {"bob"}, "X-Remote-Group": {"dev", "ops"}, "X-Remote-Extra-Scopes": {"a", "b"},
			"X-Remote-Extra-Example.com%2fteam": {"x"}},
			ok: true, user: "bob", groups: []string{"dev", "ops"},
			extra: map[string][]string{"scopes": {"a", "b"}, "example.com/team": {"x"}}},
		{name: "proxy without user header", cert: proxyCert, headers: map[string][]string{"X-Remote-Group": {"dev"}}},
		{name: "name not allowed", cert: otherProxy, headers: map[string][]string{"X-Remote-User": {"bob"}}},
		{name: "any name when none listed", cert: otherProxy, headers: map[string][]string{"X-Remote-User": {"bob"}},
			want: &RequestHeader{CA: caFile, UsernameHeaders: []string{"X-Remote-User"}}, ok: true, user: "bob"},
		{name: "no client auth usage", cert: serverOnly, headers: map[string][]string{"X-Remote-User": {"bob"}}},
		{name: "same-named CA with another key", cert: imposter, headers: map[string][]string{"X-Remote-User": {"root"}}},
		{name: "certificate of another CA", cert: userCert, headers: map[string][]string{"X-Remote-User": {"root"}}},
		{name: "no certificate", headers: map[string][]string{"X-Remote-User": {"root"}}},
		{name: "second username header", cert: proxyCert, headers: map[string][]string{"X-Other-User": {"carol"}},
			want: &RequestHeader{CA: caFile, UsernameHeaders: []string{"X-Remote-User", "X-Other-User"}}, ok: true, user: "carol"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/api", nil)
			r.TLS = &tls.ConnectionState{}
			if tc.cert != nil {
				r.TLS.PeerCertificates = []*x509.Certificate{tc.cert}
			}
			for k, vs := range tc.headers {
				r.Header[http.CanonicalHeaderKey(k)] = vs
			}
			auth := a
			if tc.want != nil {
				auth = tc.want
			}
			u, ok, err := auth.Authenticate(r)
			if err != nil {
				t.Fatalf("error %v: a request the proxy authenticator does not take is left to the next one", err)
			}
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				if r.Header.Get("X-Remote-User") == "" && tc.headers["X-Remote-User"] != nil {
					t.Error("headers of a refused request were removed")
				}
				return
			}
			if u.Name != tc.user || !reflect.DeepEqual(u.Groups, tc.groups) || (tc.extra != nil && !reflect.DeepEqual(u.Extra, tc.extra)) {
				t.Errorf("user = %+v, want %s %v %v", u, tc.user, tc.groups, tc.extra)
			}
			for k := range r.Header {
				if k == "X-Remote-User" || k == "X-Remote-Group" || k == "X-Other-User" || len(k) > 15 && k[:15] == "X-Remote-Extra-" {
					t.Errorf("identity header %s left on the request", k)
				}
			}
		})
	}
}

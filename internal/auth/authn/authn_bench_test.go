package authn

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkX509 is the per-request cost of a client certificate (chain
// verification; the TLS handshake is not included).
func BenchmarkX509(b *testing.B) {
	ca := newTestCA(b, "client-ca", nil)
	leaf, _ := ca.issue(b, leafOpts{cn: "alice", orgs: []string{"dev"}})
	rev, err := NewRevocationList(RevocationConfig{
		Path:      tempFile(b, "crl.pem", ca.crl(b, ca.key, time.Now().Add(time.Hour), nextSerial())),
		ClientCAs: []*x509.Certificate{ca.cert}, Now: time.Now, Log: discardLog(),
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		a    *X509
	}{
		{"plain", &X509{Roots: ca.pool()}},
		{"with-crl", &X509{Roots: ca.pool(), Revocation: rev}},
		{"cached", &X509{Roots: ca.pool(), Cache: NewChainCache(0)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := tlsRequest(leaf)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := bc.a.Authenticate(r); !ok || err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkX509BehindRequestHeader is an ordinary client certificate's
// cost through kastle's union, where the request-header authenticator
// (front-proxy CA) is asked first: it must not add a failing chain
// verification per request.
func BenchmarkX509BehindRequestHeader(b *testing.B) {
	ca := newTestCA(b, "client-ca", nil)
	proxyCA := newTestCA(b, "front-proxy-ca", nil)
	caFile, err := NewCAFile(tempFile(b, "rh-ca.crt", pemBlock("CERTIFICATE", proxyCA.cert.Raw)), time.Now, discardLog())
	if err != nil {
		b.Fatal(err)
	}
	leaf, _ := ca.issue(b, leafOpts{cn: "alice", orgs: []string{"dev"}})
	cache := NewChainCache(0)
	u := Union{&RequestHeader{CA: caFile, UsernameHeaders: []string{"X-Remote-User"}, Cache: cache},
		&X509{Roots: ca.pool(), Cache: cache}}
	r := tlsRequest(leaf)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := u.Authenticate(r); !ok || err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenFile is the per-request cost of a static token through the
// bearer union, with 10 and 10,000 tokens in the file.
func BenchmarkTokenFile(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			var sb strings.Builder
			for i := range n {
				fmt.Fprintf(&sb, "token-%08d-abcdefghijklmnop,user-%d,uid-%d,\"g1,g2\"\n", i, i, i)
			}
			tf, err := NewTokenFile(FileConfig{Path: tempFile(b, "tokens.csv", []byte(sb.String())), Now: time.Now, Log: discardLog()})
			if err != nil {
				b.Fatal(err)
			}
			u := BearerTokenUnion{tf}
			r := bearer(fmt.Sprintf("token-%08d-abcdefghijklmnop", n/2))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := u.Authenticate(r); !ok || err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBootstrapToken is the per-request cost of a bootstrap token
// with an in-memory secret lookup.
func BenchmarkBootstrapToken(b *testing.B) {
	s := bootstrapSecret("abcdef", "0123456789abcdef", nil)
	a, err := NewBootstrapToken(secretMap{secrets: map[string]*corev1.Secret{s.Namespace + "/" + s.Name: s}}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := a.AuthenticateToken(context.Background(), "abcdef.0123456789abcdef"); !ok || err != nil {
			b.Fatal(err)
		}
	}
}

package serviceaccount

import (
	"context"
	"crypto"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/auth/authn"
)

// BenchmarkAuthenticate is the per-request cost of a service-account JWT:
// signature, claims and the ServiceAccount (and bound pod) lookups against
// an in-memory getter; "cached" behind the server's token cache, on a hit.
func BenchmarkAuthenticate(b *testing.B) {
	rsaKey, rsaKey2, ecKey, _ := keys(b)
	o := newObjects()
	o.put("sa", "default", "builder", "sa-uid", nil)
	o.put("pod", "default", "web", "pod-uid", nil)
	spec := TokenSpec{Namespace: "default", ServiceAccountName: "builder", ServiceAccountUID: "sa-uid"}
	for _, bc := range []struct {
		name   string
		key    crypto.Signer
		bound  bool
		cached bool
	}{
		{"RS256", rsaKey, false, false},
		{"ES256", ecKey, false, false},
		{"RS256-pod-bound", rsaKey, true, false},
		{"RS256-cached", rsaKey, false, true},
		{"ES256-cached", ecKey, false, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			iss := newTestIssuer(b, testIssuer, bc.key, time.Now)
			s := spec
			if bc.bound {
				s.BoundObject = &BoundObjectRef{Kind: KindPod, Name: "web", UID: "pod-uid"}
			}
			tok, err := iss.IssueToken(s)
			if err != nil {
				b.Fatal(err)
			}
			sa, err := NewAuthenticator(AuthenticatorConfig{
				Keys:    []crypto.PublicKey{rsaKey2.Public(), rsaKey.Public(), ecKey.Public()},
				Issuers: []string{testIssuer}, APIAudiences: []string{testAud}, Getter: o, Now: time.Now,
			})
			if err != nil {
				b.Fatal(err)
			}
			var a authn.TokenAuthenticator = sa
			if bc.cached {
				if a, err = authn.NewTokenCache(sa, authn.DefaultTokenSuccessTTL, 0, nil); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := a.AuthenticateToken(ctx, tok); !ok || err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIssue is the cost of one TokenRequest signature.
func BenchmarkIssue(b *testing.B) {
	rsaKey, _, ecKey, _ := keys(b)
	for _, bc := range []struct {
		name string
		key  crypto.Signer
	}{{"RS256", rsaKey}, {"ES256", ecKey}} {
		b.Run(bc.name, func(b *testing.B) {
			iss := newTestIssuer(b, testIssuer, bc.key, time.Now)
			spec := TokenSpec{Namespace: "default", ServiceAccountName: "builder", ServiceAccountUID: "sa-uid"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iss.IssueToken(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

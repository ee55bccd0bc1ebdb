package authn

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

// revokeAll refuses every chain, to show revocation is asked even for
// cached chains.
type revokeAll struct{ on bool }

func (r *revokeAll) CheckRevoked([]*x509.Certificate) error {
	if r.on {
		return ErrRevoked
	}
	return nil
}

func TestChainCache(t *testing.T) {
	ca := newTestCA(t, "client-ca", nil)
	other := newTestCA(t, "other-ca", nil)
	now := time.Now()
	leaf, _ := ca.issue(t, leafOpts{cn: "alice", notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour)})
	cache := NewChainCache(2)
	rev := &revokeAll{}
	clock := now
	a := &X509{Roots: ca.pool(), Cache: cache, Revocation: rev, Now: func() time.Time { return clock }}
	for i := 0; i < 2; i++ {
		if u, ok, err := a.Authenticate(tlsRequest(leaf)); err != nil || !ok || u.Name != "alice" {
			t.Fatalf("round %d: %v %v %v", i, u, ok, err)
		}
	}
	if len(cache.m) != 1 {
		t.Fatalf("cache holds %d chains", len(cache.m))
	}
	// Revocation is asked on every request, cached or not.
	rev.on = true
	if _, _, err := a.Authenticate(tlsRequest(leaf)); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked cached chain: %v", err)
	}
	rev.on = false
	// Past the certificate's expiry the cache does not vouch for it.
	clock = now.Add(2 * time.Hour)
	if _, _, err := a.Authenticate(tlsRequest(leaf)); err == nil {
		t.Errorf("expired certificate accepted from the cache")
	}
	clock = now
	// Other roots (a reloaded client CA file) do not use the entry.
	b := &X509{Roots: other.pool(), Cache: cache}
	if _, _, err := b.Authenticate(tlsRequest(leaf)); err == nil {
		t.Errorf("chain accepted against roots it was not verified with")
	}
	// A cached chain vouches only for the same presented chain: the leaf of
	// an intermediate without that intermediate is verified afresh (and
	// fails), and so is the leaf with another intermediate.
	inter := newTestCA(t, "intermediate", ca)
	ileaf, _ := inter.issue(t, leafOpts{cn: "bob"})
	if _, ok, err := a.Authenticate(tlsRequest(ileaf, inter.cert)); err != nil || !ok {
		t.Fatalf("leaf with its intermediate: %v %v", ok, err)
	}
	if _, _, err := a.Authenticate(tlsRequest(ileaf)); err == nil {
		t.Errorf("leaf accepted without its intermediate, from the cache")
	}
	if _, _, err := a.Authenticate(tlsRequest(ileaf, other.cert)); err == nil {
		t.Errorf("leaf accepted with a foreign intermediate, from the cache")
	}
	// The cache stays bounded.
	for i := 0; i < 5; i++ {
		l, _ := ca.issue(t, leafOpts{cn: "u"})
		if _, _, err := a.Authenticate(tlsRequest(l)); err != nil {
			t.Fatal(err)
		}
	}
	if len(cache.m) > 2 {
		t.Errorf("cache grew to %d", len(cache.m))
	}
}

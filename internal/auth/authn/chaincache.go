package authn

import (
	"bytes"
	"crypto/x509"
	"sync"
	"time"
)

// ChainCache remembers client certificate chains already verified, so a
// client's later requests skip the signature checks (about 60 µs each).
// An entry is keyed by the presented chain's bytes (the leaf's DER, the
// rest compared in full: no hash to collide) and is used only
// against the same roots pool (a reloaded client CA file is a new pool)
// and while the chain is within its validity; revocation is still asked
// on every request. The zero value is not usable: create it with
// NewChainCache. It is safe for concurrent use.
type ChainCache struct {
	mu  sync.Mutex
	m   map[string]chainEntry // by the leaf's DER
	max int
}

type chainEntry struct {
	rest                [][]byte // DER of the presented certificates after the leaf
	roots               *x509.CertPool
	chains              [][]*x509.Certificate
	notBefore, notAfter time.Time
}

// NewChainCache returns a cache of at most max chains (0: 4,096).
func NewChainCache(max int) *ChainCache {
	if max <= 0 {
		max = 4096
	}
	return &ChainCache{m: map[string]chainEntry{}, max: max}
}

// get returns the verified chains of certs for roots at now, if cached.
func (c *ChainCache) get(certs []*x509.Certificate, roots *x509.CertPool, now time.Time) ([][]*x509.Certificate, bool) {
	c.mu.Lock()
	e, ok := c.m[string(certs[0].Raw)] // no copy: the compiler looks up by the bytes
	c.mu.Unlock()
	if !ok || e.roots != roots || now.Before(e.notBefore) || now.After(e.notAfter) || len(e.rest) != len(certs)-1 {
		return nil, false
	}
	for i, r := range e.rest {
		if !bytes.Equal(r, certs[i+1].Raw) {
			return nil, false
		}
	}
	return e.chains, true
}

// put remembers chains verified for certs against roots.
func (c *ChainCache) put(certs []*x509.Certificate, roots *x509.CertPool, chains [][]*x509.Certificate) {
	e := chainEntry{roots: roots, chains: chains}
	for _, c := range certs[1:] {
		e.rest = append(e.rest, c.Raw)
	}
	// Valid while every certificate of every verified chain is.
	for _, chain := range chains {
		for _, cert := range chain {
			if e.notBefore.IsZero() || cert.NotBefore.After(e.notBefore) {
				e.notBefore = cert.NotBefore
			}
			if e.notAfter.IsZero() || cert.NotAfter.Before(e.notAfter) {
				e.notAfter = cert.NotAfter
			}
		}
	}
	k := string(certs[0].Raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m { // evict an arbitrary entry
			delete(c.m, old)
			break
		}
	}
	c.m[k] = e
}

// lookup is get on a possibly nil cache.
func (c *ChainCache) lookup(certs []*x509.Certificate, roots *x509.CertPool, now time.Time) ([][]*x509.Certificate, bool) {
	if c == nil {
		return nil, false
	}
	return c.get(certs, roots, now)
}

// remember is put on a possibly nil cache.
func (c *ChainCache) remember(certs []*x509.Certificate, roots *x509.CertPool, chains [][]*x509.Certificate) {
	if c != nil {
		c.put(certs, roots, chains)
	}
}

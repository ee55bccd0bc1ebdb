package authn

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// ChainCache remembers client certificate chains already verified, so a
// client's later requests skip the signature checks (about 60 µs each).
// An entry is keyed by the SHA-256 of the presented chain and is used only
// against the same roots pool (a reloaded client CA file is a new pool)
// and while the chain is within its validity; revocation is still asked
// on every request. The zero value is not usable: create it with
// NewChainCache. It is safe for concurrent use.
type ChainCache struct {
	mu  sync.Mutex
	m   map[[sha256.Size]byte]chainEntry
	max int
}

type chainEntry struct {
	roots               *x509.CertPool
	chains              [][]*x509.Certificate
	notBefore, notAfter time.Time
}

// NewChainCache returns a cache of at most max chains (0: 4,096).
func NewChainCache(max int) *ChainCache {
	if max <= 0 {
		max = 4096
	}
	return &ChainCache{m: map[[sha256.Size]byte]chainEntry{}, max: max}
}

func chainKey(certs []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	for _, c := range certs {
		h.Write(c.Raw)
		h.Write([]byte{0}) // certificates are DER; a separator keeps the key unambiguous
	}
	var k [sha256.Size]byte
	copy(k[:], h.Sum(nil))
	return k
}

// get returns the verified chains of certs for roots at now, if cached.
func (c *ChainCache) get(certs []*x509.Certificate, roots *x509.CertPool, now time.Time) ([][]*x509.Certificate, bool) {
	k := chainKey(certs)
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok || e.roots != roots || now.Before(e.notBefore) || now.After(e.notAfter) {
		return nil, false
	}
	return e.chains, true
}

// put remembers chains verified for certs against roots.
func (c *ChainCache) put(certs []*x509.Certificate, roots *x509.CertPool, chains [][]*x509.Certificate) {
	e := chainEntry{roots: roots, chains: chains}
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
	k := chainKey(certs)
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

package authn

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

// Authenticator identifies the caller of a request. It returns
// (nil, false, nil) when the request carries no credential of its kind,
// and an error when it carries one that is not valid.
type Authenticator interface {
	Authenticate(r *http.Request) (*user.Info, bool, error)
}

// The groups every authenticated and every anonymous user belongs to.
const (
	GroupAuthenticated   = "system:authenticated"
	GroupUnauthenticated = "system:unauthenticated"
	AnonymousUser        = "system:anonymous"
)

// Union tries each authenticator in order.
type Union []Authenticator

var _ Authenticator = Union(nil)

// Authenticate returns the first accepted identity. Any error ends the
// search: a bad credential must not be ignored because another method
// might accept the request.
func (u Union) Authenticate(r *http.Request) (*user.Info, bool, error) {
	for _, a := range u {
		user, ok, err := a.Authenticate(r)
		if err != nil {
			return nil, false, err
		}
		if ok {
			return user, true, nil
		}
	}
	return nil, false, nil
}

// X509 accepts TLS client certificates that chain to one of Roots and are
// valid for client authentication: user = CN, groups = O. An expired or
// not-yet-valid certificate, one of a foreign CA, one without the
// clientAuth usage, or one Revocation says is revoked is an error (401).
type X509 struct {
	// Roots are the client CAs. A nil pool accepts nothing.
	Roots *x509.CertPool
	// Now is the clock validity is checked at; nil means time.Now.
	Now func() time.Time
	// Revocation, if not nil, is asked about every verified chain
	// (--client-cert-revocation-file; see RevocationList).
	Revocation RevocationChecker
	// Cache, if not nil, remembers verified chains across requests.
	Cache *ChainCache
}

var _ Authenticator = (*X509)(nil)

// Authenticate verifies the peer certificate chain.
func (a *X509) Authenticate(r *http.Request) (*user.Info, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	if a.Roots == nil {
		return nil, false, errors.New("x509: no client CA configured")
	}
	certs := r.TLS.PeerCertificates
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	at := now()
	chains, cached := a.Cache.lookup(certs, a.Roots, at)
	if !cached {
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		var err error
		chains, err = certs[0].Verify(x509.VerifyOptions{
			Roots: a.Roots, Intermediates: inter, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			return nil, false, fmt.Errorf("x509: certificate %q (serial %s): %w", certs[0].Subject.CommonName, certs[0].SerialNumber, err)
		}
		a.Cache.remember(certs, a.Roots, chains)
	}
	if a.Revocation != nil {
		for _, chain := range chains {
			if err := a.Revocation.CheckRevoked(chain); err != nil {
				return nil, false, fmt.Errorf("x509: %w", err)
			}
		}
	}
	cn := certs[0].Subject.CommonName
	if cn == "" {
		return nil, false, errors.New("x509: certificate has no common name")
	}
	groups := append([]string(nil), certs[0].Subject.Organization...)
	return &user.Info{Name: cn, Groups: groups}, true, nil
}

// Anonymous accepts every request as system:anonymous. It must be last in
// a Union.
type Anonymous struct{}

var _ Authenticator = Anonymous{}

// Authenticate always succeeds.
func (Anonymous) Authenticate(*http.Request) (*user.Info, bool, error) {
	return &user.Info{Name: AnonymousUser, Groups: []string{GroupUnauthenticated}}, true, nil
}

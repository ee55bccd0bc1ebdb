package authn

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/pki"
)

// CAFile is a PEM bundle of CA certificates that may be replaced while the
// server runs (--requestheader-client-ca-file): Pool re-reads it when it
// changed, keeping the previous content if the new one is broken.
type CAFile struct {
	f *reloadingFile[caBundle]
}

type caBundle struct {
	pool *x509.CertPool
	// subjects are the raw subjects of the bundle's certificates: a chain
	// none of whose certificates names one as issuer cannot verify, which
	// is found without a signature check.
	subjects map[string]bool
	pem      []byte
}

// NewCAFile loads path, which must hold at least one certificate.
func NewCAFile(path string, now func() time.Time, log *slog.Logger) (*CAFile, error) {
	f, err := newReloadingFile(path, "client CA file", func(data []byte) (caBundle, error) {
		certs, err := pki.ParseCertsPEM(data)
		if err != nil {
			return caBundle{}, err
		}
		if len(certs) == 0 {
			return caBundle{}, fmt.Errorf("no certificate in the file")
		}
		pool := x509.NewCertPool()
		subjects := map[string]bool{}
		for _, c := range certs {
			pool.AddCert(c)
			subjects[string(c.RawSubject)] = true
		}
		return caBundle{pool: pool, pem: data, subjects: subjects}, nil
	}, now, DefaultReloadInterval, log)
	if err != nil {
		return nil, err
	}
	return &CAFile{f: f}, nil
}

// Pool returns the CAs as they are now. The pool must not be modified.
func (c *CAFile) Pool() *x509.CertPool { return c.f.get().pool }

// mayIssue reports whether one of certs names a CA of the bundle as its
// issuer: when none does the chain cannot verify against it. Ordinary
// client certificates skip the request-header check this way instead of
// paying a failing chain verification on every request.
func (c *CAFile) mayIssue(certs []*x509.Certificate) bool {
	subjects := c.f.get().subjects
	for _, cert := range certs {
		if subjects[string(cert.RawIssuer)] {
			return true
		}
	}
	return false
}

// PEM returns the file's content as last loaded.
func (c *CAFile) PEM() []byte { return c.f.get().pem }

// RequestHeader accepts requests relayed by an authenticating front proxy
// (kube-apiserver's --requestheader-* flags): the connection presents a
// client certificate that chains to the request-header CA and, when
// AllowedNames is set, whose common name is one of them; the user is then
// read from the headers. A certificate from another CA, a name not
// allowed, or no user header is not an error: the request is left to the
// next authenticator (the x509 one judges the certificate itself), so a
// union stays fail-closed for everything but a proxy it trusts.
// On success the identity headers are removed from the request, so
// nothing downstream mistakes them for the caller's own.
type RequestHeader struct {
	// CA is the request-header client CA; required.
	CA *CAFile
	// AllowedNames restricts the proxy certificate's common name; empty
	// accepts any certificate of CA.
	AllowedNames []string
	// UsernameHeaders are tried in order; the first non-empty one names
	// the user. GroupHeaders are all read, every value a group.
	// ExtraPrefixes start headers whose rest (lower-cased, %-unescaped)
	// is a key of the user's extra information.
	UsernameHeaders, GroupHeaders, ExtraPrefixes []string
	// Now is the clock certificates are checked at; nil means time.Now.
	Now func() time.Time
	// Cache, if not nil, remembers verified chains across requests.
	Cache *ChainCache
}

var _ Authenticator = (*RequestHeader)(nil)

// Authenticate implements Authenticator.
func (a *RequestHeader) Authenticate(r *http.Request) (*user.Info, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	if a.CA == nil {
		return nil, false, errNilDependency("request-header authenticator", "CA")
	}
	certs := r.TLS.PeerCertificates
	if !a.CA.mayIssue(certs) {
		return nil, false, nil
	}
	if _, err := verifyClientChain(certs, a.CA.Pool(), a.Now, a.Cache); err != nil {
		return nil, false, nil
	}
	if len(a.AllowedNames) > 0 && !slices.Contains(a.AllowedNames, certs[0].Subject.CommonName) {
		return nil, false, nil
	}
	name := ""
	for _, h := range a.UsernameHeaders {
		if v := strings.TrimSpace(r.Header.Get(h)); v != "" {
			name = v
			break
		}
	}
	if name == "" {
		return nil, false, nil
	}
	u := &user.Info{Name: name}
	for _, h := range a.GroupHeaders {
		u.Groups = append(u.Groups, r.Header.Values(h)...)
	}
	for k, vs := range r.Header {
		for _, p := range a.ExtraPrefixes {
			if len(k) <= len(p) || !strings.EqualFold(k[:len(p)], p) {
				continue
			}
			key := strings.ToLower(k[len(p):])
			if un, err := url.PathUnescape(key); err == nil {
				key = un
			}
			if u.Extra == nil {
				u.Extra = map[string][]string{}
			}
			u.Extra[key] = append(u.Extra[key], vs...)
			break
		}
	}
	ClearRequestHeaders(r.Header, a.UsernameHeaders, a.GroupHeaders, a.ExtraPrefixes)
	return u, true, nil
}

// ClearRequestHeaders removes the identity headers named (and every header
// starting with one of extraPrefixes) from h.
func ClearRequestHeaders(h http.Header, usernameHeaders, groupHeaders, extraPrefixes []string) {
	for _, n := range usernameHeaders {
		h.Del(n)
	}
	for _, n := range groupHeaders {
		h.Del(n)
	}
	for k := range h {
		for _, p := range extraPrefixes {
			if len(k) >= len(p) && strings.EqualFold(k[:len(p)], p) {
				delete(h, k)
				break
			}
		}
	}
}

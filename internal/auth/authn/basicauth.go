package authn

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

// BasicAuthDeprecationWarning is what the server logs once at start when
// --basic-auth-file is given.
const BasicAuthDeprecationWarning = "--basic-auth-file is deprecated: HTTP basic authentication sends a long-lived password " +
	"with every request and was removed from Kubernetes in v1.19; use client certificates, " +
	"service-account tokens or bootstrap tokens instead"

// ErrInvalidBasicAuth is returned for basic credentials that do not match
// the password file. It names neither the user nor the password.
var ErrInvalidBasicAuth = errors.New("invalid basic-auth user name or password")

// passwordTable maps user names to password digests.
type passwordTable map[string]*passwordEntry

type passwordEntry struct {
	digest [sha256.Size]byte
	info   user.Info
}

// BasicAuth is the HTTP basic authenticator (--basic-auth-file): a CSV
// file of lines `password,user,uid[,"group1,group2"]`, reloaded when it
// changes. It is off unless the flag is given, and the server logs
// DeprecationWarning once at start.
//
// Passwords are compared as SHA-256 digests with
// subtle.ConstantTimeCompare, and an unknown user costs the same compare
// against a dummy digest, so response times reveal neither a password's
// length or prefix nor whether a user exists (Kubernetes removed basic
// auth after a timing-attack finding). Presented but wrong credentials
// are an error (401), never a fall-through to anonymous.
type BasicAuth struct {
	file *reloadingFile[passwordTable]
}

var _ Authenticator = (*BasicAuth)(nil)

// NewBasicAuth loads cfg.Path. It fails if the file cannot be read or
// parsed (including two lines for the same user), or a dependency is
// missing.
func NewBasicAuth(cfg FileConfig) (*BasicAuth, error) {
	f, err := newReloadingFile(cfg.Path, "basic-auth file", parsePasswordFile, cfg.Now, cfg.ReloadInterval, cfg.Log)
	if err != nil {
		return nil, err
	}
	return &BasicAuth{file: f}, nil
}

// DeprecationWarning returns BasicAuthDeprecationWarning.
func (*BasicAuth) DeprecationWarning() string { return BasicAuthDeprecationWarning }

// parsePasswordFile builds the table of a basic-auth file.
func parsePasswordFile(data []byte) (passwordTable, error) {
	recs, err := parseCredentialCSV(data, "password")
	if err != nil {
		return nil, err
	}
	t := make(passwordTable, len(recs))
	for _, r := range recs {
		if _, dup := t[r.info.Name]; dup {
			return nil, fmt.Errorf("user %q appears twice", r.info.Name)
		}
		t[r.info.Name] = &passwordEntry{digest: sha256.Sum256([]byte(r.secret)), info: r.info}
	}
	return t, nil
}

// dummyDigest is compared against when the user is unknown.
var dummyDigest = sha256.Sum256([]byte("kastle: no such user"))

// Authenticate checks an "Authorization: Basic" header. A request without
// one yields (nil, false, nil); a malformed one is an error.
func (a *BasicAuth) Authenticate(r *http.Request) (*user.Info, bool, error) {
	name, password, ok := r.BasicAuth()
	if !ok {
		scheme, _, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		if strings.EqualFold(scheme, "basic") {
			return nil, false, ErrInvalidBasicAuth // malformed
		}
		return nil, false, nil
	}
	d := sha256.Sum256([]byte(password))
	e, known := a.file.get()[name]
	want := dummyDigest
	if known {
		want = e.digest
	}
	if subtle.ConstantTimeCompare(want[:], d[:]) != 1 || !known {
		return nil, false, ErrInvalidBasicAuth
	}
	return copyInfo(&e.info), true, nil
}

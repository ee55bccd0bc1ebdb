package caserver

import (
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// Error kinds the transports map to status codes.
var (
	// ErrBadRequest: the request is malformed (HTTP 400, gRPC InvalidArgument).
	ErrBadRequest = errors.New("bad request")
	// ErrUnauthenticated: no or wrong credentials (401, Unauthenticated).
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the policy refuses (403, PermissionDenied).
	ErrForbidden = errors.New("forbidden")
)

// pendingKeyTTL is how long a server-generated key waits for its one
// GetKey before it is destroyed.
const pendingKeyTTL = 10 * time.Minute

// CRLValidity is the NextUpdate horizon of the served CRL; it is re-signed
// when half of it has passed or a certificate is revoked.
const CRLValidity = 24 * time.Hour

// Service is the CA service's logic, shared by the HTTP and gRPC
// transports. Identities reach it already authenticated.
type Service struct {
	CA     *pki.CA
	Store  *Store
	Policy *Policy
	Logger *slog.Logger

	mu      sync.Mutex
	pending map[string]pendingKey // server-generated keys not yet fetched

	crlMu    sync.Mutex
	crlDER   []byte
	crlCount int
	crlAt    time.Time
}

// pendingKey is a server-generated key waiting for its requester.
type pendingKey struct {
	keyPEM    []byte
	requester string
	expires   time.Time
}

// Issued is the result of a signing call.
type Issued struct {
	Record Record
	// ChainPEM is the certificate followed by the CA's intermediates.
	ChainPEM []byte
	// KeyPEM is set only for the subject form, where the service made the
	// key; it is returned to this caller only.
	KeyPEM []byte
}

// SubjectRequest is seed 000's JSON/gRPC subject form.
type SubjectRequest struct {
	SubjectCountry            []string `json:"SubjectCountry,omitempty"`
	SubjectOrganization       []string `json:"SubjectOrganization,omitempty"`
	SubjectOrganizationalUnit []string `json:"SubjectOrganizationalUnit,omitempty"`
	SubjectLocality           []string `json:"SubjectLocality,omitempty"`
	SubjectProvince           []string `json:"SubjectProvince,omitempty"`
	SubjectStreetAddress      []string `json:"SubjectStreetAddress,omitempty"`
	SubjectPostalCode         []string `json:"SubjectPostalCode,omitempty"`
	SubjectSerialNumber       string   `json:"SubjectSerialNumber,omitempty"`
	SubjectCommonName         string   `json:"SubjectCommonName"`
	DNSNames                  []string `json:"DNSNames,omitempty"`
	EmailAddresses            []string `json:"EmailAddresses,omitempty"`
	IPAddresses               []string `json:"IPAddresses,omitempty"`
	URIs                      []string `json:"URIs,omitempty"`
	// Profile names the signing profile; empty means DefaultProfile.
	Profile string `json:"Profile,omitempty"`
}

// Template is the subject template served at /csr-template (the seed's).
func Template() SubjectRequest {
	return SubjectRequest{
		SubjectCountry:            []string{"CN"},
		SubjectOrganization:       []string{"Qinghua"},
		SubjectOrganizationalUnit: []string{"ComputerScience"},
		SubjectProvince:           []string{"Beijing"},
		SubjectLocality:           []string{"北京"},
		SubjectCommonName:         "www.tsinghua.edu.cn",
		EmailAddresses:            []string{"ex@example.com"},
		DNSNames:                  []string{"localhost"},
		IPAddresses:               []string{"127.0.0.1"},
		Profile:                   string(DefaultProfile),
	}
}

// spec converts the subject form, rejecting what cannot be issued. Street
// address, postal code and serial number are not issued: a CA should not
// vouch for them, so asking is an error rather than silently dropped.
func (r SubjectRequest) spec() (pki.CertSpec, error) {
	if len(r.SubjectStreetAddress) > 0 || len(r.SubjectPostalCode) > 0 || r.SubjectSerialNumber != "" {
		return pki.CertSpec{}, fmt.Errorf("%w: street address, postal code and subject serial number are not issued", ErrBadRequest)
	}
	if strings.TrimSpace(r.SubjectCommonName) == "" {
		return pki.CertSpec{}, fmt.Errorf("%w: SubjectCommonName is empty", ErrBadRequest)
	}
	s := pki.CertSpec{
		CommonName: r.SubjectCommonName, Organization: r.SubjectOrganization, OrganizationalUnit: r.SubjectOrganizationalUnit,
		Country: r.SubjectCountry, Province: r.SubjectProvince, Locality: r.SubjectLocality,
		DNSNames: r.DNSNames, EmailAddresses: r.EmailAddresses,
	}
	for _, v := range r.IPAddresses {
		ip := net.ParseIP(strings.TrimSpace(v))
		if ip == nil {
			return pki.CertSpec{}, fmt.Errorf("%w: IP address %q does not parse", ErrBadRequest, v)
		}
		s.IPs = append(s.IPs, ip)
	}
	for _, v := range r.URIs {
		u, err := url.Parse(v)
		if err != nil || u.Scheme == "" {
			return pki.CertSpec{}, fmt.Errorf("%w: URI %q is not absolute", ErrBadRequest, v)
		}
		s.URIs = append(s.URIs, u)
	}
	return s, nil
}

// SignCSR signs a PEM PKCS #10 request for identity under profile.
func (s *Service) SignCSR(identity, profile string, csrPEM []byte) (*Issued, error) {
	if identity == "" {
		return nil, ErrUnauthenticated
	}
	csr, err := pki.ParseCSRPEM(csrPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if err := pki.CheckPublicKey(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	spec := pki.SpecFromCSR(csr, pki.Profile{})
	if len(csr.Subject.StreetAddress) > 0 || len(csr.Subject.PostalCode) > 0 || csr.Subject.SerialNumber != "" {
		return nil, fmt.Errorf("%w: street address, postal code and subject serial number are not issued", ErrBadRequest)
	}
	// ParseCSRPEM checked the CSR's signature; signing for its public key
	// directly avoids checking it twice (an ECDSA verification each).
	return s.issue(identity, profile, spec, func(spec pki.CertSpec) (*pki.IssuedCert, error) {
		return s.CA.IssueDER(spec, csr.PublicKey)
	})
}

// SignSubject issues for the seed's subject form with a key the service
// makes (P-256); the key is returned in the result and nowhere else.
func (s *Service) SignSubject(identity string, req SubjectRequest) (*Issued, error) {
	if identity == "" {
		return nil, ErrUnauthenticated
	}
	spec, err := req.spec()
	if err != nil {
		return nil, err
	}
	// The key is made only once the policy has agreed.
	var key crypto.Signer
	out, err := s.issue(identity, req.Profile, spec, func(spec pki.CertSpec) (*pki.IssuedCert, error) {
		var err error
		if key, err = pki.GenerateKey(pki.DefaultKeyAlgorithm); err != nil {
			return nil, err
		}
		return s.CA.IssueDER(spec, key.Public())
	})
	if err != nil {
		return nil, err
	}
	if out.KeyPEM, err = pki.EncodeKeyPEM(key); err != nil {
		return nil, err
	}
	return out, nil
}

// issue authorizes spec, signs it with sign and records it.
func (s *Service) issue(identity, profile string, spec pki.CertSpec, sign func(pki.CertSpec) (*pki.IssuedCert, error)) (*Issued, error) {
	if identity == "" {
		return nil, ErrUnauthenticated
	}
	spec, err := s.Policy.Authorize(identity, profile, spec)
	if err != nil {
		var pe *PolicyError
		if errors.As(err, &pe) && pe.Denied {
			return nil, fmt.Errorf("%w: %v", ErrForbidden, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if profile == "" {
		profile = string(DefaultProfile)
	}
	// Announce the journal append, so that concurrent issuances share
	// one fsync.
	s.Store.expect(1)
	announced := true
	defer func() {
		if announced { // not appended: withdraw
			s.Store.expect(-1)
		}
	}()
	cert, err := sign(spec)
	if err != nil {
		s.Logger.Error("signing failed", "subject", spec.CommonName, "requester", identity, "err", err)
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: pki.PEMTypeCertificate, Bytes: cert.DER})
	rec := Record{
		ID: serialID(cert.SerialNumber), Subject: cert.Subject.String(), SANs: sanStrings(spec),
		NotAfter: cert.NotAfter, Requester: identity, Profile: profile, IssuedAt: time.Now().UTC(),
		CertPEM: string(certPEM),
	}
	announced = false
	if err := s.Store.add(rec, true); err != nil {
		// Not recorded, so not handed out: an unrecorded certificate could
		// not be revoked by id.
		s.Logger.Error("journal write failed; certificate withheld", "id", rec.ID, "err", err)
		return nil, err
	}
	// Certificate content is public; keys never reach the log. The journal
	// is the audit record, so the log line is debug-level.
	s.Logger.Debug("issued", "id", rec.ID, "subject", rec.Subject, "sans", rec.SANs, "notAfter", rec.NotAfter,
		"requester", identity, "profile", profile)
	return &Issued{Record: rec, ChainPEM: append(certPEM, s.CA.IssuersPEM()...)}, nil
}

// HoldKey keeps a server-generated key for one later GetKey by requester.
func (s *Service) HoldKey(id, requester string, keyPEM []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[string]pendingKey{}
	}
	now := time.Now()
	for k, p := range s.pending {
		if now.After(p.expires) {
			delete(s.pending, k)
		}
	}
	s.pending[id] = pendingKey{keyPEM: keyPEM, requester: requester, expires: now.Add(pendingKeyTTL)}
}

// TakeKey returns the held key of id once, to its requester only; it is
// forgotten afterwards.
func (s *Service) TakeKey(id, requester string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[id]
	if !ok || time.Now().After(p.expires) {
		delete(s.pending, id)
		return nil, fmt.Errorf("%w: no key held for %q (keys are handed out once, within %v)", ErrNotFound, id, pendingKeyTTL)
	}
	if p.requester != requester {
		return nil, fmt.Errorf("%w: the key of %q belongs to another requester", ErrForbidden, id)
	}
	delete(s.pending, id)
	return p.keyPEM, nil
}

// Cert returns the record of id to any authenticated identity:
// certificates are public.
func (s *Service) Cert(identity, id string) (Record, error) {
	if identity == "" {
		return Record{}, ErrUnauthenticated
	}
	return s.Store.Get(normalizeID(id))
}

// normalizeID accepts a serial as kastle prints it and as openssl does
// ("0x" prefix, colons, upper case, leading zeros).
func normalizeID(id string) string {
	id = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(id), ":", ""))
	id = strings.TrimLeft(strings.TrimPrefix(id, "0x"), "0")
	if id == "" {
		return "0"
	}
	return id
}

// Revoke revokes id on behalf of identity.
func (s *Service) Revoke(identity, id string, reason int) (Record, error) {
	if identity == "" {
		return Record{}, ErrUnauthenticated
	}
	if reason < 0 || reason > 10 || reason == 7 {
		return Record{}, fmt.Errorf("%w: revocation reason %d is not an RFC 5280 CRLReason", ErrBadRequest, reason)
	}
	id = normalizeID(id)
	rec, err := s.Store.Get(id)
	if err != nil {
		return Record{}, err
	}
	if !s.Policy.MayRevoke(identity, rec.Requester) {
		return Record{}, fmt.Errorf("%w: identity %q may not revoke %s requested by %q", ErrForbidden, identity, id, rec.Requester)
	}
	rec, err = s.Store.Revoke(id, time.Now(), reason, identity)
	if err != nil {
		return Record{}, err
	}
	s.Logger.Info("revoked", "id", id, "by", identity, "reason", reason)
	return rec, nil
}

// CRL returns the current CRL (DER), re-signed when the revocations
// changed or half of its validity has passed.
func (s *Service) CRL() ([]byte, error) {
	revs, count := s.Store.Revocations()
	s.crlMu.Lock()
	defer s.crlMu.Unlock()
	if s.crlDER != nil && count == s.crlCount && time.Since(s.crlAt) < CRLValidity/2 {
		return s.crlDER, nil
	}
	// Nanoseconds since the epoch grow across restarts, as CRL numbers must.
	now := time.Now()
	der, err := s.CA.CreateCRL(revs, big.NewInt(now.UnixNano()), CRLValidity)
	if err != nil {
		return nil, err
	}
	s.crlDER, s.crlCount, s.crlAt = der, count, now
	return der, nil
}

// OCSP answers a DER OCSP request from the records.
func (s *Service) OCSP(req []byte) ([]byte, error) {
	return s.CA.OCSPRespond(req, s.Store.Status)
}

// Tokens authenticates bearer tokens from a token file.
type Tokens struct {
	entries []tokenEntry
}

// tokenEntry is one token, kept only as its SHA-256 so that comparisons
// are constant-time over equal lengths.
type tokenEntry struct {
	sum  [32]byte
	name string
}

// LoadTokens reads a token file: one "token,name" per line; blank lines
// and lines starting with '#' are skipped. Tokens must be at least 16
// characters long.
func LoadTokens(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("caserver: token file: %w", err)
	}
	t := &Tokens{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tok, name, ok := strings.Cut(line, ",")
		name, _, _ = strings.Cut(name, ",")
		tok, name = strings.TrimSpace(tok), strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("caserver: token file %s line %d: want \"token,name\"", path, i+1)
		}
		if len(tok) < 16 {
			return nil, fmt.Errorf("caserver: token file %s line %d: token of %q is shorter than 16 characters", path, i+1, name)
		}
		if slices.ContainsFunc(t.entries, func(e tokenEntry) bool { return e.name == name }) {
			return nil, fmt.Errorf("caserver: token file %s line %d: duplicate name %q", path, i+1, name)
		}
		t.entries = append(t.entries, tokenEntry{sum: sha256.Sum256([]byte(tok)), name: name})
	}
	if len(t.entries) == 0 {
		return nil, fmt.Errorf("caserver: token file %s has no tokens", path)
	}
	return t, nil
}

// Authenticate returns the name of token, or "" if it is unknown. Every
// entry is compared, so timing does not reveal which one matched.
func (t *Tokens) Authenticate(token string) string {
	if t == nil || token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	name := ""
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 {
			name = e.name
		}
	}
	return name
}

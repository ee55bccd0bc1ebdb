package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"slices"
	"time"
)

// Backdate is how far before "now" certificates become valid, so that a
// peer whose clock is a little behind still accepts a fresh certificate.
const Backdate = 5 * time.Minute

// CertSpec is the identity and policy of a certificate to issue: subject,
// SANs, extended usages and lifetime. Profile.Spec builds one from a
// signing profile.
type CertSpec struct {
	CommonName   string
	Organization []string // certificate O; Kubernetes reads these as groups
	DNSNames     []string
	IPs          []net.IP
	Usages       []x509.ExtKeyUsage // required unless IsCA
	Validity     time.Duration      // from issue; clamped to the CA's own expiry
	IsCA         bool               // issue a (sub-)CA rather than an end entity

	// The rest of the subject (C, ST, L, OU), as in cfssl's csr.json names.
	Country            []string
	Province           []string
	Locality           []string
	OrganizationalUnit []string
	// URIs and EmailAddresses are further SANs (e.g. SPIFFE IDs).
	URIs           []*url.URL
	EmailAddresses []string
	// KeyUsage overrides the key usage bits; zero means the default
	// (digitalSignature, plus keyEncipherment for RSA; CA bits for a CA,
	// which are always present on a CA).
	KeyUsage x509.KeyUsage
	// MaxPathLen limits a CA's chain below it; with MaxPathLenZero it is
	// an explicit 0 (may sign only leaves). Zero without the flag means
	// unlimited.
	MaxPathLen     int
	MaxPathLenZero bool
	// OCSPServers, CRLDistributionPoints and IssuingCertificateURL tell
	// relying parties where to check revocation and find the issuer.
	OCSPServers           []string
	CRLDistributionPoints []string
	IssuingCertificateURL []string
}

// Validate checks that spec can be issued.
func (s CertSpec) Validate() error {
	if s.CommonName == "" {
		return errors.New("pki: certificate spec has no common name")
	}
	if s.Validity <= 0 {
		return fmt.Errorf("pki: certificate spec %q: validity must be positive, got %v", s.CommonName, s.Validity)
	}
	if !s.IsCA && len(s.Usages) == 0 {
		return fmt.Errorf("pki: certificate spec %q: no extended key usage", s.CommonName)
	}
	for _, d := range s.DNSNames {
		if err := validateDNSName(d); err != nil {
			return fmt.Errorf("pki: certificate spec %q: %w", s.CommonName, err)
		}
	}
	for _, e := range s.EmailAddresses {
		if err := validateEmail(e); err != nil {
			return fmt.Errorf("pki: certificate spec %q: %w", s.CommonName, err)
		}
	}
	for _, u := range s.URIs {
		if u == nil || u.Scheme == "" {
			return fmt.Errorf("pki: certificate spec %q: URI SAN %v has no scheme", s.CommonName, u)
		}
	}
	if s.MaxPathLen < 0 {
		return fmt.Errorf("pki: certificate spec %q: max path length must not be negative, got %d", s.CommonName, s.MaxPathLen)
	}
	return nil
}

// subject builds the certificate subject of s.
func (s CertSpec) subject() pkix.Name {
	return pkix.Name{
		CommonName:         s.CommonName,
		Organization:       slices.Clone(s.Organization),
		OrganizationalUnit: slices.Clone(s.OrganizationalUnit),
		Country:            slices.Clone(s.Country),
		Province:           slices.Clone(s.Province),
		Locality:           slices.Clone(s.Locality),
	}
}

// CA is a certificate authority: its certificate and, unless it is an
// external CA, its private key.
type CA struct {
	// Cert is the CA certificate leaves must chain to.
	Cert *x509.Certificate
	// Key signs new certificates; nil in external-CA mode, where Issue
	// fails with ErrExternalCA.
	Key crypto.Signer
	// Now is the clock used for issuing and checking; nil means time.Now.
	Now func() time.Time
	// Chain holds the issuers of Cert, nearest first, up to and including
	// the root; empty for a root CA. Served after a leaf so that peers
	// trusting only the root can build the path.
	Chain []*x509.Certificate
}

// now reads the CA's clock.
func (ca *CA) now() time.Time {
	if ca.Now != nil {
		return ca.Now()
	}
	return time.Now()
}

// NewSelfSignedCA makes a new key of algorithm alg and a self-signed CA
// certificate with common name cn valid for validity.
func NewSelfSignedCA(cn string, alg KeyAlgorithm, validity time.Duration) (*CA, error) {
	key, err := GenerateKey(alg)
	if err != nil {
		return nil, err
	}
	cert, err := selfSign(key, CertSpec{CommonName: cn, Validity: validity, IsCA: true}, time.Now())
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// selfSign issues a self-signed CA certificate for key.
func selfSign(key crypto.Signer, spec CertSpec, now time.Time) (*x509.Certificate, error) {
	spec.IsCA = true
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	tmpl, err := template(spec, key.Public(), now)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: self-sign %q: %w", spec.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// template builds the certificate template shared by every issue path.
func template(spec CertSpec, pub crypto.PublicKey, now time.Time) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(pub)
	if err != nil {
		return nil, fmt.Errorf("pki: subject key id: %w", err)
	}
	t := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               spec.subject(),
		NotBefore:             now.Add(-Backdate).UTC(),
		NotAfter:              now.Add(spec.Validity).UTC(),
		BasicConstraintsValid: true,
		IsCA:                  spec.IsCA,
		SubjectKeyId:          ski,
		DNSNames:              append([]string(nil), spec.DNSNames...),
		IPAddresses:           append([]net.IP(nil), spec.IPs...),
		URIs:                  slices.Clone(spec.URIs),
		EmailAddresses:        slices.Clone(spec.EmailAddresses),
		OCSPServer:            slices.Clone(spec.OCSPServers),
		CRLDistributionPoints: slices.Clone(spec.CRLDistributionPoints),
		IssuingCertificateURL: slices.Clone(spec.IssuingCertificateURL),
	}
	if spec.IsCA {
		t.KeyUsage = spec.KeyUsage | x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
		t.MaxPathLen = spec.MaxPathLen
		t.MaxPathLenZero = spec.MaxPathLenZero
		// A CA may carry extended usages too (cfssl profiles do); they then
		// restrict what it may issue in Go's and openssl's verifiers.
		t.ExtKeyUsage = slices.Clone(spec.Usages)
	} else {
		t.KeyUsage = keyUsageFor(pub)
		if spec.KeyUsage != 0 {
			t.KeyUsage = spec.KeyUsage
		}
		t.ExtKeyUsage = append([]x509.ExtKeyUsage(nil), spec.Usages...)
	}
	return t, nil
}

// randomSerial returns a random positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("pki: serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// Issue signs a certificate for pub as described by spec. Only the public
// key is needed, so a requester's private key never has to leave it. It
// fails with ErrExternalCA when the CA has no key, and when the CA itself
// has expired; the new certificate never outlives the CA.
func (ca *CA) Issue(spec CertSpec, pub crypto.PublicKey) (*x509.Certificate, error) {
	out, err := ca.IssueDER(spec, pub)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(out.DER)
}

// IssueDER is Issue without parsing the new certificate, which a CA
// service answering with PEM does not need.
func (ca *CA) IssueDER(spec CertSpec, pub crypto.PublicKey) (*IssuedCert, error) {
	if ca == nil || ca.Cert == nil {
		return nil, errors.New("pki: issue: no CA")
	}
	if ca.Key == nil {
		return nil, fmt.Errorf("pki: issue %q: %w", spec.CommonName, ErrExternalCA)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	now := ca.now()
	if now.After(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("pki: issue %q: CA %q expired at %s", spec.CommonName,
			ca.Cert.Subject.CommonName, ca.Cert.NotAfter.Format(time.RFC3339))
	}
	if spec.IsCA {
		// A sub-CA must fit under the issuer's path length constraint, or
		// every chain through it would fail to verify.
		if limit, ok := pathLenLimit(ca.Cert); ok {
			if limit == 0 {
				return nil, fmt.Errorf("pki: issue sub-CA %q: CA %q has path length 0 and may sign only leaves",
					spec.CommonName, ca.Cert.Subject.CommonName)
			}
			if spec.MaxPathLen == 0 && !spec.MaxPathLenZero || spec.MaxPathLen > limit-1 {
				spec.MaxPathLen, spec.MaxPathLenZero = limit-1, limit-1 == 0
			}
		}
	}
	tmpl, err := template(spec, pub, now)
	if err != nil {
		return nil, err
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	der, err := createCertificateDER(tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: issue %q: %w", spec.CommonName, err)
	}
	out := &IssuedCert{DER: der, SerialNumber: tmpl.SerialNumber, Subject: tmpl.Subject,
		NotAfter: tmpl.NotAfter.UTC().Truncate(time.Second)}
	for _, values := range [][]string{tmpl.Subject.Country, tmpl.Subject.Province, tmpl.Subject.Locality,
		tmpl.Subject.Organization, tmpl.Subject.OrganizationalUnit} {
		if len(values) > 1 {
			// The encoding sorts an attribute's values; read them back
			// in that order.
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, err
			}
			out.Subject = cert.Subject
			break
		}
	}
	return out, nil
}

// IssuedCert is a certificate as IssueDER made it, for callers that need
// a few of its fields but not a parsed certificate.
type IssuedCert struct {
	// DER is the certificate.
	DER          []byte
	SerialNumber *big.Int
	// Subject is the subject as encoded (an attribute's several values in
	// DER order), so its String matches the parsed certificate's.
	Subject pkix.Name
	// NotAfter is the end of validity as encoded (whole seconds, UTC).
	NotAfter time.Time
}

// IssueKeyPair generates a key of algorithm alg and issues spec for it.
func (ca *CA) IssueKeyPair(spec CertSpec, alg KeyAlgorithm) (*x509.Certificate, crypto.Signer, error) {
	key, err := GenerateKey(alg)
	if err != nil {
		return nil, nil, err
	}
	cert, err := ca.Issue(spec, key.Public())
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// IssueClientCert mints a clientAuth certificate (CN = user, O = groups)
// with a new P-256 key and returns both as PEM, ready for curl --cert/--key
// or a kubeconfig. Tests use it for throwaway identities.
func (ca *CA) IssueClientCert(cn string, orgs []string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	spec := CertSpec{CommonName: cn, Organization: orgs, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		Validity: validity}
	cert, key, err := ca.IssueKeyPair(spec, DefaultKeyAlgorithm)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = EncodeKeyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	return EncodeCertPEM(cert), keyPEM, nil
}

// Pool returns a new pool holding the CA certificate, for tls.Config's
// RootCAs or ClientCAs.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Verify checks that chain[0] chains to roots (through chain[1:] as
// intermediates) at time now and is valid for usage. It returns the
// verified chains.
func Verify(chain []*x509.Certificate, roots *x509.CertPool, usage x509.ExtKeyUsage, now time.Time) ([][]*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("pki: verify: no certificate")
	}
	if roots == nil {
		return nil, errors.New("pki: verify: no trusted roots")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	chains, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return nil, fmt.Errorf("pki: verify %q: %w", chain[0].Subject.CommonName, err)
	}
	return chains, nil
}

// VerifyClientCert is Verify for clientAuth, the check an x509
// authenticator makes on a TLS peer's certificates.
func VerifyClientCert(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) ([][]*x509.Certificate, error) {
	return Verify(chain, roots, x509.ExtKeyUsageClientAuth, now)
}

// pathLenLimit returns a CA certificate's path length constraint, if any.
func pathLenLimit(c *x509.Certificate) (int, bool) {
	switch {
	case c.MaxPathLen > 0:
		return c.MaxPathLen, true
	case c.MaxPathLen == 0 && c.MaxPathLenZero:
		return 0, true
	}
	return 0, false
}

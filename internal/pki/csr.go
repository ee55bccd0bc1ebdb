package pki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"
)

// PEMTypeCSR is the PEM block type of a PKCS #10 request.
const PEMTypeCSR = "CERTIFICATE REQUEST"

// CreateCSR makes a PKCS #10 request signed by key for spec's subject and
// SANs, PEM-encoded. Usages and validity are the CA's to decide, so they
// are not carried.
func CreateCSR(key crypto.Signer, spec CertSpec) ([]byte, error) {
	if spec.CommonName == "" {
		return nil, errors.New("pki: CSR has no common name")
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:        spec.subject(),
		DNSNames:       slices.Clone(spec.DNSNames),
		IPAddresses:    slices.Clone(spec.IPs),
		URIs:           slices.Clone(spec.URIs),
		EmailAddresses: slices.Clone(spec.EmailAddresses),
	}, key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CSR for %q: %w", spec.CommonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMTypeCSR, Bytes: der}), nil
}

// ParseCSRPEM reads the first "CERTIFICATE REQUEST" (or openssl's older
// "NEW CERTIFICATE REQUEST") block in data and checks its self-signature,
// which proves the requester holds the private key.
func ParseCSRPEM(data []byte) (*x509.CertificateRequest, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("pki: no CERTIFICATE REQUEST PEM block found")
		}
		if block.Type != PEMTypeCSR && block.Type != "NEW CERTIFICATE REQUEST" {
			continue
		}
		csr, err := ParseCSRDER(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pki: parse CSR: %w", err)
		}
		if err := csr.CheckSignature(); err != nil {
			return nil, fmt.Errorf("pki: CSR for %q: signature invalid: %w", csr.Subject.CommonName, err)
		}
		return csr, nil
	}
}

// SpecFromCSR returns profile p's CertSpec for the subject and SANs the
// CSR asks for. The caller (a policy) decides whether they are allowed.
func SpecFromCSR(csr *x509.CertificateRequest, p Profile) CertSpec {
	s := p.Spec(csr.Subject.CommonName, csr.Subject.Organization)
	s.Country = slices.Clone(csr.Subject.Country)
	s.Province = slices.Clone(csr.Subject.Province)
	s.Locality = slices.Clone(csr.Subject.Locality)
	s.OrganizationalUnit = slices.Clone(csr.Subject.OrganizationalUnit)
	s.DNSNames = slices.Clone(csr.DNSNames)
	s.IPs = slices.Clone(csr.IPAddresses)
	s.URIs = slices.Clone(csr.URIs)
	s.EmailAddresses = slices.Clone(csr.EmailAddresses)
	return s
}

// IssueCSR signs spec for the public key of csr after checking the CSR's
// signature, so the requester's private key never leaves it. spec (usually
// SpecFromCSR filtered by a policy) decides the content, not the CSR:
// extensions a requester asks for are not copied.
func (ca *CA) IssueCSR(csr *x509.CertificateRequest, spec CertSpec) (*x509.Certificate, error) {
	if csr == nil {
		return nil, errors.New("pki: issue: no CSR")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("pki: CSR for %q: signature invalid: %w", csr.Subject.CommonName, err)
	}
	return ca.Issue(spec, csr.PublicKey)
}

// NewIntermediate makes a new key of algorithm alg and a sub-CA
// certificate for it signed by ca, with common name cn. maxPathLen < 0
// leaves the path length unconstrained below the parent's limit; 0 makes
// a CA that may sign only leaves.
func (ca *CA) NewIntermediate(cn string, alg KeyAlgorithm, validity time.Duration, maxPathLen int) (*CA, error) {
	spec := CertSpec{CommonName: cn, Validity: validity, IsCA: true}
	if maxPathLen >= 0 {
		spec.MaxPathLen, spec.MaxPathLenZero = maxPathLen, maxPathLen == 0
	}
	cert, key, err := ca.IssueKeyPair(spec, alg)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, Now: ca.Now, Chain: append([]*x509.Certificate{ca.Cert}, ca.Chain...)}, nil
}

// ChainPEM returns cert followed by the CA's certificate and its
// intermediates (not a self-signed root), the bundle a server sends.
func (ca *CA) ChainPEM(cert *x509.Certificate) []byte {
	return append(EncodeCertPEM(cert), ca.IssuersPEM()...)
}

// IssuersPEM is what ChainPEM puts after the certificate: the CA's
// certificate and its intermediates, up to but not including a root.
func (ca *CA) IssuersPEM() []byte {
	var out []byte
	for _, c := range append([]*x509.Certificate{ca.Cert}, ca.Chain...) {
		if isSelfIssued(c) {
			break
		}
		out = append(out, EncodeCertPEM(c)...)
	}
	return out
}

// isSelfIssued reports whether c names itself as issuer, as a root does.
// The signature is not checked: the chain is the CA's own, checked when
// loaded, and this runs on every issue.
func isSelfIssued(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject)
}

// LoadCA reads a CA from PEM: certPEM holds the CA certificate first, then
// optionally its issuers (nearest first); keyPEM its private key (may be
// nil for an external CA; password decrypts an "ENCRYPTED PRIVATE KEY").
// It checks that the certificate is a CA and that the key matches it.
func LoadCA(certPEM, keyPEM, password []byte) (*CA, error) {
	certs, err := ParseCertsPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: load CA certificate: %w", err)
	}
	c := certs[0]
	if !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("pki: load CA: certificate %q is not a CA (basic constraints CA:TRUE and keyCertSign needed)",
			c.Subject.CommonName)
	}
	ca := &CA{Cert: c, Chain: certs[1:]}
	if keyPEM == nil {
		return ca, nil
	}
	key, err := ParseKeyPEMWithPassword(keyPEM, password)
	if err != nil {
		return nil, fmt.Errorf("pki: load CA key: %w", err)
	}
	if !keyMatches(key, c.PublicKey) {
		return nil, fmt.Errorf("pki: load CA %q: %w", c.Subject.CommonName, ErrKeyMismatch)
	}
	ca.Key = key
	return ca, nil
}

// SelfSign issues a self-signed CA certificate for key as spec describes
// (subject, validity, path length); spec.IsCA is implied.
func SelfSign(key crypto.Signer, spec CertSpec) (*x509.Certificate, error) {
	return selfSign(key, spec, time.Now())
}

package pki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Revocation is one revoked certificate, for CRLs and OCSP.
type Revocation struct {
	Serial    *big.Int
	RevokedAt time.Time
	// Reason is an RFC 5280 CRLReason code (0 unspecified, 1 keyCompromise,
	// 4 superseded, 5 cessationOfOperation, …).
	Reason int
}

// PEMTypeCRL is the PEM block type of a certificate revocation list.
const PEMTypeCRL = "X509 CRL"

// CreateCRL signs a CRL listing revoked, numbered number (it must grow
// with every new CRL of this CA), valid from now for validity. It returns
// DER; NextUpdate never passes the CA's own expiry.
func (ca *CA) CreateCRL(revoked []Revocation, number *big.Int, validity time.Duration) ([]byte, error) {
	if ca == nil || ca.Cert == nil {
		return nil, errors.New("pki: CRL: no CA")
	}
	if ca.Key == nil {
		return nil, fmt.Errorf("pki: CRL: %w", ErrExternalCA)
	}
	if number == nil || number.Sign() < 0 {
		return nil, fmt.Errorf("pki: CRL number must be non-negative, got %v", number)
	}
	if validity <= 0 {
		return nil, fmt.Errorf("pki: CRL validity must be positive, got %v", validity)
	}
	if ca.Cert.KeyUsage&x509.KeyUsageCRLSign == 0 {
		return nil, fmt.Errorf("pki: CRL: CA %q lacks the cRLSign key usage", ca.Cert.Subject.CommonName)
	}
	now := ca.now()
	next := now.Add(validity)
	if next.After(ca.Cert.NotAfter) {
		next = ca.Cert.NotAfter
	}
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		if r.Serial == nil {
			return nil, errors.New("pki: CRL: revocation without serial")
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.RevokedAt.UTC(),
			ReasonCode: r.Reason})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    number,
		ThisUpdate:                now.Add(-time.Minute).UTC(),
		NextUpdate:                next.UTC(),
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CRL for %q: %w", ca.Cert.Subject.CommonName, err)
	}
	return der, nil
}

// OCSPStatus is what a CA knows about one serial number.
type OCSPStatus struct {
	// Known is false for a serial this CA never issued ("unknown").
	Known bool
	// Revoked, with the time and RFC 5280 reason, when it was revoked.
	Revoked   bool
	RevokedAt time.Time
	Reason    int
}

// OCSPLookup returns the status of serial.
type OCSPLookup func(serial *big.Int) (OCSPStatus, error)

// OCSPValidity is how long an OCSP answer may be cached (nextUpdate).
const OCSPValidity = time.Hour

// OCSPRespond answers a DER OCSP request (RFC 6960) for a certificate of
// ca, signed by the CA itself. A malformed request gets the
// malformedRequest response, a request about another issuer
// unauthorized, a failing lookup internalError; these error responses
// are returned with a nil error because they are the protocol's answer.
// The CA key must be ECDSA or RSA (the OCSP library signs only those).
func (ca *CA) OCSPRespond(reqDER []byte, lookup OCSPLookup) ([]byte, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("pki: OCSP: no CA key")
	}
	req, err := ocsp.ParseRequest(reqDER)
	if err != nil {
		return ocsp.MalformedRequestErrorResponse, nil
	}
	if !ca.issuedBy(req) {
		return ocsp.UnauthorizedErrorResponse, nil
	}
	st, err := lookup(req.SerialNumber)
	if err != nil {
		return ocsp.InternalErrorErrorResponse, nil
	}
	now := ca.now().UTC()
	tmpl := ocsp.Response{
		SerialNumber: req.SerialNumber,
		ThisUpdate:   now.Add(-time.Minute),
		NextUpdate:   now.Add(OCSPValidity),
		IssuerHash:   req.HashAlgorithm,
	}
	switch {
	case !st.Known:
		tmpl.Status = ocsp.Unknown
	case st.Revoked:
		tmpl.Status = ocsp.Revoked
		tmpl.RevokedAt = st.RevokedAt.UTC()
		tmpl.RevocationReason = st.Reason
	default:
		tmpl.Status = ocsp.Good
	}
	resp, err := ocsp.CreateResponse(ca.Cert, ca.Cert, tmpl, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: OCSP response for serial %x: %w", req.SerialNumber, err)
	}
	return resp, nil
}

// issuedBy reports whether an OCSP request names ca as the issuer: the
// hashes of its subject name and of its public key bits must match.
func (ca *CA) issuedBy(req *ocsp.Request) bool {
	if !req.HashAlgorithm.Available() {
		return false
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(ca.Cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return false
	}
	sum := func(h crypto.Hash, b []byte) []byte {
		d := h.New()
		d.Write(b)
		return d.Sum(nil)
	}
	return bytes.Equal(sum(req.HashAlgorithm, ca.Cert.RawSubject), req.IssuerNameHash) &&
		bytes.Equal(sum(req.HashAlgorithm, spki.PublicKey.Bytes), req.IssuerKeyHash)
}

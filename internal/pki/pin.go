package pki

import (
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// PinPrefix starts every public-key pin, as in kubeadm's
// --discovery-token-ca-cert-hash.
const PinPrefix = "sha256:"

// CertPin returns cert's public-key pin: "sha256:" and the lower-case hex
// SHA-256 of its DER SubjectPublicKeyInfo. It survives re-issuing the CA
// certificate with the same key.
func CertPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return PinPrefix + hex.EncodeToString(sum[:])
}

// PublicKeyPin is CertPin for a bare public key.
func PublicKeyPin(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("pki: pin: %w", err)
	}
	sum := sha256.Sum256(der)
	return PinPrefix + hex.EncodeToString(sum[:]), nil
}

// ParsePin checks that pin is "sha256:" followed by 64 hex digits (either
// case) and returns the digest.
func ParsePin(pin string) ([]byte, error) {
	p := strings.TrimSpace(pin)
	if len(p) < len(PinPrefix) || !strings.EqualFold(p[:len(PinPrefix)], PinPrefix) {
		return nil, fmt.Errorf("pki: pin %q: want the form sha256:<64 hex digits>", pin)
	}
	sum, err := hex.DecodeString(p[len(PinPrefix):])
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("pki: pin %q: want 64 hex digits after %q", pin, PinPrefix)
	}
	return sum, nil
}

// VerifyPins checks that cert's public key matches one of pins. Every pin
// must be well-formed; on mismatch the error shows the pin computed, so an
// operator can compare it with what they were given.
func VerifyPins(cert *x509.Certificate, pins []string) error {
	if cert == nil {
		return errors.New("pki: verify pins: no certificate")
	}
	if len(pins) == 0 {
		return errors.New("pki: verify pins: no pin given")
	}
	have := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	match := false
	for _, p := range pins {
		want, err := ParsePin(p)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(want, have[:]) == 1 {
			match = true
		}
	}
	if !match {
		return fmt.Errorf("pki: public key of %q does not match any pin: computed %s, expected one of %s",
			cert.Subject.CommonName, CertPin(cert), strings.Join(pins, ", "))
	}
	return nil
}

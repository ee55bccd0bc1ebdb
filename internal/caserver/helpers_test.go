package caserver

import (
	"crypto"
	"crypto/x509"
	"os"
)

// publicKeyEqual compares public keys by value.
func publicKeyEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// x509ParseCRL returns the revoked serials (hex) of a DER CRL.
func x509ParseCRL(der []byte) ([]string, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range crl.RevokedCertificateEntries {
		out = append(out, e.SerialNumber.Text(16))
	}
	return out, nil
}

// osWriteFile writes a private test file.
func osWriteFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o600) }

package certrenewal

import (
	"crypto/x509"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// RenewPair writes a new key, then a new certificate for it from ca, each
// atomically (a reader following both files sees a mismatched pair only
// between the two renames, and retries), and returns the certificate.
func RenewPair(ca *pki.CA, spec pki.CertSpec, certFile, keyFile string) (*x509.Certificate, error) {
	key, err := pki.GenerateKey("")
	if err != nil {
		return nil, err
	}
	cert, err := ca.Issue(spec, key.Public())
	if err != nil {
		return nil, err
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	if err := pki.WriteFileAtomic(keyFile, keyPEM, pki.KeyFileMode, true); err != nil {
		return nil, err
	}
	if err := pki.WriteFileAtomic(certFile, pki.EncodeCertPEM(cert), pki.CertFileMode, true); err != nil {
		return nil, err
	}
	return cert, nil
}

// SpecOf returns the spec that reissues cert as it is: subject, SANs and
// extended usages, for validity (0: its own lifetime, without the
// backdate).
func SpecOf(cert *x509.Certificate, validity time.Duration) pki.CertSpec {
	life := cert.NotAfter.Sub(cert.NotBefore)
	if life > backdate {
		life -= backdate
	}
	if validity > 0 {
		life = validity
	}
	return pki.CertSpec{
		CommonName: cert.Subject.CommonName, Organization: cert.Subject.Organization,
		DNSNames: cert.DNSNames, IPs: cert.IPAddresses, Usages: cert.ExtKeyUsage, Validity: life,
	}
}

package agent

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// testCA is a throwaway cluster CA.
func testCA(t testing.TB) *pki.CA {
	t.Helper()
	ca, err := pki.NewSelfSignedCA("agent-test-ca", pki.ECDSAP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// issuePEM issues a certificate for spec at time at, returning PEM cert and key.
func issuePEM(t testing.TB, ca *pki.CA, spec pki.CertSpec, at time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	prev := ca.Now
	ca.Now = func() time.Time { return at }
	defer func() { ca.Now = prev }()
	if spec.Validity == 0 {
		spec.Validity = 10 * time.Minute
	}
	cert, key, err := ca.IssueKeyPair(spec, pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err = pki.EncodeKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	return pki.EncodeCertPEM(cert), keyPEM
}

// clientSpec is a client certificate for cn in orgs.
func clientSpec(cn string, orgs ...string) pki.CertSpec {
	return pki.CertSpec{CommonName: cn, Organization: orgs, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
}

// servingPair is a serving certificate for 127.0.0.1.
func servingPair(t testing.TB, ca *pki.CA) tls.Certificate {
	t.Helper()
	c, k := issuePEM(t, ca, pki.CertSpec{CommonName: "server", IPs: []net.IP{net.ParseIP("127.0.0.1")},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, time.Now())
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// clientPair is a client certificate pair for cn.
func clientPair(t testing.TB, ca *pki.CA, cn string, orgs ...string) *tls.Certificate {
	t.Helper()
	c, k := issuePEM(t, ca, clientSpec(cn, orgs...), time.Now())
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return &pair
}

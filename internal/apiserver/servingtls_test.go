package apiserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

func TestParseTLSOptions(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint16
		ok   bool
	}{{"", tls.VersionTLS12, true}, {"VersionTLS13", tls.VersionTLS13, true}, {"VersionTLS11", 0, false}, {"1.2", 0, false}} {
		got, err := parseTLSMinVersion(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseTLSMinVersion(%q) = %v, %v", tt.in, got, err)
		}
	}
	if ids, err := parseCipherSuites([]string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}); err != nil || len(ids) != 1 {
		t.Errorf("valid suite: %v %v", ids, err)
	}
	for _, bad := range []string{"TLS_RSA_WITH_RC4_128_SHA", "NOT_A_SUITE"} {
		if _, err := parseCipherSuites([]string{bad}); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestServingFilesReload replaces the serving certificate and the client
// CA on disk: the next handshake after a second uses the new files, and a
// broken replacement keeps the old ones.
func TestServingFilesReload(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	serving := func(ca *pki.CA, cn string) (string, string) {
		cert, key, err := ca.IssueKeyPair(pki.CertSpec{CommonName: cn, IPs: []net.IP{net.ParseIP("127.0.0.1")}, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: time.Hour}, pki.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, _ := pki.EncodeKeyPEM(key)
		return write("tls.crt", pki.EncodeCertPEM(cert)), write("tls.key", keyPEM)
	}
	ca1, _ := pki.NewSelfSignedCA("ca-one", pki.ECDSAP256, time.Hour)
	ca2, _ := pki.NewSelfSignedCA("ca-two", pki.ECDSAP256, time.Hour)
	certFile, keyFile := serving(ca1, "first")
	caFile := write("client-ca.crt", pki.EncodeCertPEM(ca1.Cert))
	var reported error
	f := &servingFiles{certFile: certFile, keyFile: keyFile, caFile: caFile, onError: func(err error) { reported = err }}
	if err := f.load(); err != nil {
		t.Fatal(err)
	}
	cn := func() string {
		c, _ := f.current()
		leaf, _ := x509.ParseCertificate(c.Certificate[0])
		return leaf.Subject.CommonName
	}
	if cn() != "first" {
		t.Fatalf("serving %q", cn())
	}
	serving(ca2, "second")
	write("client-ca.crt", pki.EncodeCertPEM(ca2.Cert))
	f.lastCheck = time.Time{} // as if a second had passed
	if cn() != "second" {
		t.Errorf("after replacing the certificate: serving %q", cn())
	}
	client2, _, _ := ca2.IssueClientCert("u", nil, time.Hour)
	certs, _ := pki.ParseCertsPEM(client2)
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: f.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("new client CA not in use: %v", err)
	}
	write("tls.crt", []byte("garbage"))
	f.lastCheck = time.Time{}
	if cn() != "second" || reported == nil {
		t.Errorf("broken replacement: serving %q, reported %v", cn(), reported)
	}
	if err := (&servingFiles{caFile: filepath.Join(dir, "missing")}).load(); err == nil || errors.Is(err, os.ErrExist) {
		t.Errorf("missing client CA file: %v", err)
	}
}

package apiserver

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// BenchmarkTLSHandshake measures full handshakes with client-certificate
// authentication (ECDSA P-256), one new connection per request, through
// the server's reloadable serving configuration.
func BenchmarkTLSHandshake(b *testing.B) {
	dir := b.TempDir()
	ca, _ := pki.NewSelfSignedCA("ca", pki.ECDSAP256, time.Hour)
	cert, key, _ := ca.IssueKeyPair(pki.CertSpec{CommonName: "srv", IPs: []net.IP{net.ParseIP("127.0.0.1")}, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: time.Hour}, pki.ECDSAP256)
	keyPEM, _ := pki.EncodeKeyPEM(key)
	write := func(n string, d []byte) string {
		p := filepath.Join(dir, n)
		_ = os.WriteFile(p, d, 0o600)
		return p
	}
	f := &servingFiles{certFile: write("tls.crt", pki.EncodeCertPEM(cert)), keyFile: write("tls.key", keyPEM), caFile: write("ca.crt", pki.EncodeCertPEM(ca.Cert))}
	if err := f.load(); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	base := &tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.VerifyClientCertIfGiven}
	srv.TLS = base.Clone()
	srv.TLS.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c, p := f.current()
		cfg := base.Clone()
		cfg.Certificates, cfg.ClientCAs = []tls.Certificate{*c}, p
		return cfg, nil
	}
	srv.StartTLS()
	defer srv.Close()
	clientPEM, clientKey, _ := ca.IssueClientCert("u", nil, time.Hour)
	pair, _ := tls.X509KeyPair(clientPEM, clientKey)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{pair}}}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := c.Get(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}

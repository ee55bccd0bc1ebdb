package pki_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// TestOpenSSLReadsFiles checks with the real openssl that every file is in
// a form operators' tools accept, for each key family.
func TestOpenSSLReadsFiles(t *testing.T) {
	requireOpenSSL(t)
	for _, alg := range []pki.KeyAlgorithm{pki.ECDSAP256, pki.ECDSAP384, pki.RSA2048} {
		t.Run(string(alg), func(t *testing.T) {
			cfg := serverConfig(t.TempDir())
			cfg.KeyAlgorithm = alg
			cfg.ExtraSANs = []string{"api.example.com", "10.1.2.3"}
			sp := mustEnsure(t, cfg)
			clientCrt, clientKey := writeClientCert(t, sp.CA, filepath.Dir(sp.CAFile))

			for _, f := range []string{sp.CAFile, sp.ServingCertFile, clientCrt} {
				out := openssl(t, "x509", "-in", f, "-noout", "-text")
				if !strings.Contains(out, "X509v3 Subject Key Identifier") {
					t.Errorf("%s: no subject key identifier:\n%s", f, out)
				}
			}
			for _, f := range []string{sp.CAKeyFile, sp.ServingKeyFile, clientKey} {
				openssl(t, "pkey", "-in", f, "-noout")
			}
			openssl(t, "verify", "-CAfile", sp.CAFile, "-purpose", "sslserver", sp.ServingCertFile)
			openssl(t, "verify", "-CAfile", sp.CAFile, "-purpose", "sslclient", clientCrt)

			text := openssl(t, "x509", "-in", sp.ServingCertFile, "-noout", "-text")
			for _, want := range []string{"DNS:kubernetes.default.svc.cluster.local", "DNS:node-1", "DNS:api.example.com",
				"IP Address:127.0.0.1", "IP Address:10.1.2.3", "TLS Web Server Authentication", "X509v3 Authority Key Identifier"} {
				if !strings.Contains(text, want) {
					t.Errorf("apiserver.crt lacks %q", want)
				}
			}
			caText := openssl(t, "x509", "-in", sp.CAFile, "-noout", "-text")
			for _, want := range []string{"CA:TRUE", "Certificate Sign, CRL Sign"} {
				if !strings.Contains(caText, want) {
					t.Errorf("ca.crt lacks %q:\n%s", want, caText)
				}
			}
			if subj := openssl(t, "x509", "-in", sp.CAFile, "-noout", "-subject", "-nameopt", "RFC2253"); strings.TrimSpace(subj) != "subject=CN=kubernetes" {
				t.Errorf("ca.crt subject %q", subj)
			}
		})
	}
}

// TestCurlMutualTLS serves HTTPS with the ensured serving certificate and
// client CA pool and calls it with curl --cacert/--cert/--key, the way the
// design's curl example does.
func TestCurlMutualTLS(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	sp := mustEnsure(t, serverConfig(t.TempDir()))
	clientCrt, clientKey := writeClientCert(t, sp.CA, t.TempDir())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := pki.VerifyClientCert(r.TLS.PeerCertificates, sp.ClientCAPool, time.Now()); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			c := r.TLS.PeerCertificates[0]
			fmt.Fprintf(w, "%s %v", c.Subject.CommonName, c.Subject.Organization)
		}),
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{sp.ServingCert},
			ClientCAs:    sp.ClientCAPool,
			ClientAuth:   tls.VerifyClientCertIfGiven,
		},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	for _, host := range []string{"127.0.0.1", "localhost"} {
		url := fmt.Sprintf("https://%s:%d/api", host, port)
		out, err := exec.Command("curl", "-sS", "--noproxy", "*", "--fail", "--max-time", "20", "--cacert", sp.CAFile,
			"--cert", clientCrt, "--key", clientKey, url).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", url, err, out)
		}
		if string(out) != "alice [system:masters]" {
			t.Errorf("curl %s: got %q", url, out)
		}
	}
}

// writeClientCert issues a client certificate for alice into dir.
func writeClientCert(t *testing.T, ca *pki.CA, dir string) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM, err := ca.IssueClientCert("alice", []string{"system:masters"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "alice.crt"), filepath.Join(dir, "alice.key")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// openssl runs openssl and returns its output, failing the test on error.
func openssl(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

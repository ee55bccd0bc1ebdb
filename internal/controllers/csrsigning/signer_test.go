package csrsigning

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"

	"github.com/kastle-dev/kastle/internal/pki"
)

// writeCA makes a CA valid for validity and writes it to dir.
func writeCA(t testing.TB, dir string, validity time.Duration) CAFiles {
	t.Helper()
	ca, err := pki.NewSelfSignedCA("test-ca", "", validity)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodeKeyPEM(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	f := CAFiles{CertFile: filepath.Join(dir, "ca.crt"), KeyFile: filepath.Join(dir, "ca.key")}
	if err := os.WriteFile(f.CertFile, pki.EncodeCertPEM(ca.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.KeyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func request(t testing.TB, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func csrFor(signer string, req []byte, exp *int32, usages ...certificatesv1.KeyUsage) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{
		Request: req, SignerName: signer, Usages: usages, ExpirationSeconds: exp}}
}

func TestSign(t *testing.T) {
	dir := t.TempDir()
	files := writeCA(t, dir, 24*time.Hour)
	now := time.Now()
	s, err := NewSigner(Config{Default: files, Duration: 2 * time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	node := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}}
	serving := &x509.CertificateRequest{Subject: node.Subject, DNSNames: []string{"n1"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}}
	client := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth}
	server := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
	ten := int32(600)
	long := int32(10 * 3600)
	tests := []struct {
		name    string
		csr     *certificatesv1.CertificateSigningRequest
		rule    string // "" = signed
		life    time.Duration
		extUsed x509.ExtKeyUsage
	}{
		{"kubelet client", csrFor(SignerAPIServerClientKubelet, request(t, node), nil, client...), "", 2 * time.Hour, x509.ExtKeyUsageClientAuth},
		{"expirationSeconds shortens", csrFor(SignerAPIServerClient, request(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "bob"}}), &ten, certificatesv1.UsageClientAuth), "", 10 * time.Minute, x509.ExtKeyUsageClientAuth},
		{"expirationSeconds cannot lengthen", csrFor(SignerAPIServerClient, request(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "bob"}}), &long, certificatesv1.UsageClientAuth), "", 2 * time.Hour, x509.ExtKeyUsageClientAuth},
		{"kubelet serving", csrFor(SignerKubeletServing, request(t, serving), nil, server...), "", 2 * time.Hour, x509.ExtKeyUsageServerAuth},
		{"kubelet client with SAN", csrFor(SignerAPIServerClientKubelet, request(t, serving), nil, client...), "subject alternative names", 0, 0},
		{"kubelet client wrong CN", csrFor(SignerAPIServerClientKubelet, request(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "n1", Organization: []string{"system:nodes"}}}), nil, client...), "common name", 0, 0},
		{"kubelet client two orgs", csrFor(SignerAPIServerClientKubelet, request(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes", "x"}}}), nil, client...), "organization", 0, 0},
		{"kubelet client no client auth", csrFor(SignerAPIServerClientKubelet, request(t, node), nil, certificatesv1.UsageDigitalSignature), "requires the usage", 0, 0},
		{"serving without SAN", csrFor(SignerKubeletServing, request(t, node), nil, server...), "at least one DNS or IP", 0, 0},
		{"serving with email", csrFor(SignerKubeletServing, request(t, &x509.CertificateRequest{Subject: node.Subject, DNSNames: []string{"n1"}, EmailAddresses: []string{"a@b.c"}}), nil, server...), "email", 0, 0},
		{"apiserver client with server auth", csrFor(SignerAPIServerClient, request(t, node), nil, certificatesv1.UsageServerAuth, certificatesv1.UsageClientAuth), "not allowed", 0, 0},
		{"unknown signer", csrFor("example.com/x", request(t, node), nil, client...), "not handled", 0, 0},
		{"garbage request", csrFor(SignerAPIServerClient, []byte("nope"), nil, client...), "not a PEM", 0, 0},
		{"legacy unknown anything", csrFor(SignerLegacyUnknown, request(t, serving), nil, certificatesv1.UsageServerAuth, certificatesv1.UsageCodeSigning), "", 2 * time.Hour, x509.ExtKeyUsageServerAuth},
	}
	caPEM, _ := os.ReadFile(files.CertFile)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.Sign(tt.csr)
			var rule *RuleError
			if tt.rule != "" {
				if !errors.As(err, &rule) || !strings.Contains(err.Error(), tt.rule) {
					t.Fatalf("error %v, want a rule error mentioning %q", err, tt.rule)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			certs, err := pki.ParseCertsPEM(out)
			if err != nil {
				t.Fatal(err)
			}
			c := certs[0]
			if got := c.NotAfter.Sub(now.Truncate(time.Second)); got < tt.life-2*time.Second || got > tt.life+time.Second {
				t.Errorf("lifetime %v, want %v", got, tt.life)
			}
			if !c.NotBefore.Before(now.Add(-pki.Backdate + time.Second)) {
				t.Errorf("NotBefore %v not backdated", c.NotBefore)
			}
			if len(c.ExtKeyUsage) == 0 || c.ExtKeyUsage[0] != tt.extUsed {
				t.Errorf("ext usages %v", c.ExtKeyUsage)
			}
			if c.KeyUsage&x509.KeyUsageKeyEncipherment != 0 {
				t.Errorf("key encipherment on an ECDSA key")
			}
			if b := c.SerialNumber.BitLen(); b <= 96 || b > 128 || c.IsCA { // 128 random bits
				t.Errorf("serial %d bits, IsCA %v", c.SerialNumber.BitLen(), c.IsCA)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: now}); err != nil {
				t.Errorf("does not chain to the CA: %v", err)
			}
		})
	}
}

func TestSignNeverOutlivesCA(t *testing.T) {
	files := writeCA(t, t.TempDir(), time.Hour)
	s, err := NewSigner(Config{Default: files, Duration: DefaultDuration})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Sign(csrFor(SignerAPIServerClient, request(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}), nil, certificatesv1.UsageClientAuth))
	if err != nil {
		t.Fatal(err)
	}
	certs, _ := pki.ParseCertsPEM(out)
	caPEM, _ := os.ReadFile(files.CertFile)
	ca, _ := pki.ParseCertsPEM(caPEM)
	if certs[0].NotAfter.After(ca[0].NotAfter) {
		t.Errorf("certificate outlives its CA: %v > %v", certs[0].NotAfter, ca[0].NotAfter)
	}
}

func TestNewSignerRefusals(t *testing.T) {
	dir := t.TempDir()
	good := writeCA(t, dir, time.Hour)
	other := writeCA(t, t.TempDir(), time.Hour)
	for name, cfg := range map[string]Config{
		"no files":       {},
		"missing key":    {Default: CAFiles{CertFile: good.CertFile, KeyFile: filepath.Join(dir, "nope")}},
		"mismatched key": {Default: CAFiles{CertFile: good.CertFile, KeyFile: other.KeyFile}},
		"unknown signer": {Default: good, PerSigner: map[string]CAFiles{"example.com/x": good}},
	} {
		if _, err := NewSigner(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestSignerReloadsCA: a replaced CA file is used for the next signature.
func TestSignerReloadsCA(t *testing.T) {
	dir := t.TempDir()
	files := writeCA(t, dir, time.Hour)
	s, err := NewSigner(Config{Default: files})
	if err != nil {
		t.Fatal(err)
	}
	req := request(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}})
	sign := func() *x509.Certificate {
		out, err := s.Sign(csrFor(SignerAPIServerClient, req, nil, certificatesv1.UsageClientAuth))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := pki.ParseCertsPEM(out)
		return c[0]
	}
	first := sign()
	time.Sleep(10 * time.Millisecond) // a distinct modification time
	writeCA(t, dir, 2*time.Hour)
	second := sign()
	if string(first.AuthorityKeyId) == string(second.AuthorityKeyId) {
		t.Errorf("the renewed CA was not picked up")
	}
}

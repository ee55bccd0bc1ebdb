package e2e

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// TestClientCertRevocation revokes a client certificate while the server
// runs, first by serial number, then by a CRL signed by the client CA:
// within 5 s the certificate gets 401, with no restart. Basic auth is on
// for the same server: a right password authenticates, a wrong one is 401.
func TestClientCertRevocation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	revoked := filepath.Join(dir, "revoked.txt")
	if err := os.WriteFile(revoked, []byte("# nothing revoked yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	passwords := filepath.Join(dir, "passwords.csv")
	if err := os.WriteFile(passwords, []byte(`s3cret-pass,basic-bob,uid-bob,"basic-users"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(dir, "data"), "--client-cert-revocation-file", revoked, "--basic-auth-file", passwords)

	// Issue two client certificates from the server's CA.
	ca := s.serverCA(t)
	issue := func(name string) (adminFiles, *x509.Certificate) {
		certPEM, keyPEM, err := ca.IssueClientCert(name, []string{"e2e"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := pki.ParseCertsPEM(certPEM)
		f := adminFiles{cert: filepath.Join(dir, name+".crt"), key: filepath.Join(dir, name+".key"), ca: filepath.Join(s.dataDir, "pki", "ca.crt")}
		_ = os.WriteFile(f.cert, certPEM, 0o600)
		_ = os.WriteFile(f.key, keyPEM, 0o600)
		return f, c[0]
	}
	whoamiAs := func(f *adminFiles, args ...string) int {
		return curl(t, s, f, "/apis/authentication.k8s.io/v1/selfsubjectreviews", append([]string{"-X", "POST",
			"-H", "Content-Type: application/json", "-d", `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`}, args...)...).status
	}
	alice, aliceCert := issue("alice")
	bob, bobCert := issue("bob")
	if c := whoamiAs(&alice); c != 201 {
		t.Fatalf("valid client certificate: %d", c)
	}

	// Revoke alice by serial (colon-separated hex, as openssl prints it).
	serial := fmt.Sprintf("%X", aliceCert.SerialNumber)
	colons := ""
	for i := 0; i < len(serial); i += 2 {
		if i > 0 {
			colons += ":"
		}
		colons += serial[i:min(i+2, len(serial))]
	}
	if err := os.WriteFile(revoked+".tmp", []byte(colons+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(revoked+".tmp", revoked); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() string {
		if c := whoamiAs(&alice); c != 401 {
			return fmt.Sprintf("revoked by serial: %d, want 401", c)
		}
		return ""
	})
	if c := whoamiAs(&bob); c != 201 {
		t.Errorf("unrevoked certificate: %d", c)
	}

	// Now a CRL from the client CA revoking bob (alice is back).
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: bobCert.SerialNumber, RevocationTime: time.Now()}},
	}, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(revoked+".tmp", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(revoked+".tmp", revoked); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() string {
		if c := whoamiAs(&bob); c != 401 {
			return fmt.Sprintf("revoked by CRL: %d, want 401", c)
		}
		if c := whoamiAs(&alice); c != 201 {
			return fmt.Sprintf("no longer revoked: %d, want 201", c)
		}
		return ""
	})

	// Basic auth (deprecated, on because the flag is given).
	if c := whoamiAs(nil, "-u", "basic-bob:s3cret-pass"); c != 201 {
		t.Errorf("basic auth with the right password: %d", c)
	}
	if c := whoamiAs(nil, "-u", "basic-bob:wrong"); c != 401 {
		t.Errorf("basic auth with a wrong password: %d, want 401", c)
	}
}

// TestClientCertRejections presents client certificates curl can offer
// but the server must refuse (401): expired, not yet valid, from a foreign
// CA with the same name, and valid for serverAuth only. Also: a user may
// not impersonate without the impersonate verb, basic auth is off unless
// configured, and a bootstrap token without its usage is refused.
func TestClientCertRejections(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := env.shared
	ca := s.serverCA(t)
	foreign, _ := pki.NewSelfSignedCA(ca.Cert.Subject.CommonName, pki.ECDSAP256, time.Hour)
	files := func(name string, certPEM, keyPEM []byte) *adminFiles {
		f := &adminFiles{cert: filepath.Join(dir, name+".crt"), key: filepath.Join(dir, name+".key")}
		_ = os.WriteFile(f.cert, certPEM, 0o600)
		_ = os.WriteFile(f.key, keyPEM, 0o600)
		return f
	}
	// Certificates with chosen validity need a hand-made template.
	custom := func(name string, notBefore, notAfter time.Time, usage x509.ExtKeyUsage) *adminFiles {
		k, _ := pki.GenerateKey(pki.ECDSAP256)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
			NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, k.Public(), ca.Key)
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, _ := pki.EncodeKeyPEM(k)
		return files(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM)
	}
	fc, fk, _ := foreign.IssueClientCert("mallory", []string{"system:masters"}, time.Hour)
	now := time.Now()
	for name, f := range map[string]*adminFiles{
		"expired":       custom("expired", now.Add(-2*time.Hour), now.Add(-time.Hour), x509.ExtKeyUsageClientAuth),
		"not yet valid": custom("future", now.Add(time.Hour), now.Add(2*time.Hour), x509.ExtKeyUsageClientAuth),
		"serverAuth":    custom("server-only", now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageServerAuth),
		"foreign CA":    files("foreign", fc, fk),
	} {
		if r := curl(t, s, f, "/api/v1/namespaces"); r.status != 401 {
			t.Errorf("%s client certificate: %d, want 401", name, r.status)
		}
	}
	// A valid certificate for a user without RBAC grants is authenticated
	// but forbidden, and may not impersonate.
	vc, vk, _ := ca.IssueClientCert("plain-user", nil, time.Hour)
	plain := files("plain", vc, vk)
	if r := curl(t, s, plain, "/api/v1/namespaces"); r.status != 403 {
		t.Errorf("plain user listing namespaces: %d, want 403", r.status)
	}
	if r := curl(t, s, plain, "/version", "-H", "Impersonate-User: kubernetes-admin"); r.status != 403 || !strings.Contains(r.body, "cannot impersonate") {
		t.Errorf("impersonation without permission: %d %s", r.status, r.body)
	}
	// Basic auth is off on the shared server: the header is not a credential.
	if code, _, _ := whoamiAsBasic(t, "basic-bob", "s3cret-pass"); code == 201 {
		t.Errorf("basic auth accepted on a server without --basic-auth-file")
	}
	// A bootstrap token whose Secret lacks usage-bootstrap-authentication.
	mustKubectl(t, "create", "secret", "generic", "bootstrap-token-e2enou", "-n", "kube-system",
		"--type=bootstrap.kubernetes.io/token", "--from-literal=token-id=e2enou", "--from-literal=token-secret=0123456789abcdef")
	t.Cleanup(func() { kubectl(t, "delete", "secret", "-n", "kube-system", "bootstrap-token-e2enou") })
	if code, _, _ := whoami(t, "e2enou.0123456789abcdef"); code != 401 {
		t.Errorf("bootstrap token without usage: %d, want 401", code)
	}
}

// whoamiAsBasic posts a SelfSubjectReview with HTTP basic credentials.
func whoamiAsBasic(t *testing.T, user, password string) (int, string, []string) {
	t.Helper()
	r := curl(t, env.shared, nil, "/apis/authentication.k8s.io/v1/selfsubjectreviews", "-X", "POST", "-u", user+":"+password,
		"-H", "Content-Type: application/json", "-d", `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`)
	return r.status, "", nil
}

package e2e

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
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
	caCert, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	certs, _ := pki.ParseCertsPEM(caCert)
	key, err := pki.ParseKeyPEM(caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca := &pki.CA{Cert: certs[0], Key: key}
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

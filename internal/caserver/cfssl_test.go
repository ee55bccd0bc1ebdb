package caserver

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

func TestInitCAAndGenCert(t *testing.T) {
	out, err := InitCA([]byte(`{"CN": "Root", "key": {"algo": "ecdsa", "size": 384}, "ca": {"expiry": "8760h", "pathlen": 1},
		"names": [{"O": "Example"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.LoadCA([]byte(out.Cert), []byte(out.Key), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := ca.Cert.NotAfter.Sub(ca.Cert.NotBefore); d < 8760*time.Hour || d > 8761*time.Hour {
		t.Errorf("CA validity %v", d)
	}
	if ca.Cert.MaxPathLen != 1 || ca.Cert.Subject.Organization[0] != "Example" {
		t.Errorf("CA %+v", ca.Cert.Subject)
	}
	if _, err := pki.ParseCSRPEM([]byte(out.CSR)); err != nil {
		t.Errorf("initca CSR: %v", err)
	}
	cfg, _ := pki.ParseSigningConfig([]byte(`{"signing": {"default": {"expiry": "1h", "usages": ["client auth"]}}}`))
	leaf, err := GenCert(ca, cfg, "", []byte(`{"CN": "alice", "key": {"algo": "ed25519"}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	certs, _ := pki.ParseCertsPEM([]byte(leaf.Cert))
	if _, err := pki.VerifyClientCert(certs, ca.Pool(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if certs[0].PublicKeyAlgorithm != x509.Ed25519 {
		t.Errorf("key algorithm %v", certs[0].PublicKeyAlgorithm)
	}
	for name, tc := range map[string]struct {
		json  string
		hosts []string
		want  string
	}{
		"bad json":     {`{`, nil, "csr.json"},
		"bad hostname": {`{"CN": "a"}`, []string{"a b"}, "-hostname"},
		"bad expiry":   {`{"CN": "a", "ca": {"expiry": "ten years"}}`, nil, "ca expiry"},
	} {
		var err error
		if name == "bad expiry" {
			_, err = InitCA([]byte(tc.json))
		} else {
			_, err = GenCert(ca, cfg, "", []byte(tc.json), tc.hosts)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

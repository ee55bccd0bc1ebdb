package pki_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// newCA makes a throwaway CA or fails the test.
func newCA(t testing.TB, cn string) *pki.CA {
	t.Helper()
	ca, err := pki.NewSelfSignedCA(cn, pki.ECDSAP256, pki.CAValidity)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestNewSelfSignedCA(t *testing.T) {
	before := time.Now()
	ca := newCA(t, "kubernetes")
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid {
		t.Error("not a CA")
	}
	if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature; c.KeyUsage != want {
		t.Errorf("key usage = %b, want %b", c.KeyUsage, want)
	}
	if c.Subject.CommonName != "kubernetes" || c.Issuer.CommonName != "kubernetes" {
		t.Errorf("subject/issuer = %v / %v", c.Subject, c.Issuer)
	}
	if len(c.SubjectKeyId) == 0 {
		t.Error("no subject key id")
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v not a positive 128-bit number", c.SerialNumber)
	}
	if c.NotBefore.After(before.Add(-pki.Backdate + time.Second)) {
		t.Errorf("NotBefore %v not backdated", c.NotBefore)
	}
	if d := c.NotAfter.Sub(before); d < pki.CAValidity-time.Minute || d > pki.CAValidity+time.Minute {
		t.Errorf("validity %v, want about %v", d, pki.CAValidity)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
}

func TestIssue(t *testing.T) {
	ca := newCA(t, "kubernetes")
	tests := []struct {
		name    string
		alg     pki.KeyAlgorithm
		spec    pki.CertSpec
		wantKU  x509.KeyUsage
		wantErr string
	}{
		{name: "ecdsa server", alg: pki.ECDSAP256,
			spec: pki.CertSpec{CommonName: "kube-apiserver", DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
				Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: pki.LeafValidity},
			wantKU: x509.KeyUsageDigitalSignature},
		{name: "rsa client", alg: pki.RSA2048,
			spec: pki.CertSpec{CommonName: "alice", Organization: []string{"dev", "ops"},
				Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: time.Hour},
			wantKU: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment},
		{name: "outlives CA is clamped", alg: pki.ECDSAP256,
			spec: pki.CertSpec{CommonName: "long", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
				Validity: 2 * pki.CAValidity},
			wantKU: x509.KeyUsageDigitalSignature},
		{name: "no CN", spec: pki.CertSpec{Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: time.Hour},
			wantErr: "no common name"},
		{name: "no usage", spec: pki.CertSpec{CommonName: "x", Validity: time.Hour}, wantErr: "no extended key usage"},
		{name: "no validity", spec: pki.CertSpec{CommonName: "x", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
			wantErr: "validity"},
		{name: "bad DNS", spec: pki.CertSpec{CommonName: "x", DNSNames: []string{"a b"},
			Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: time.Hour}, wantErr: "invalid DNS SAN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, key, err := ca.IssueKeyPair(tt.spec, tt.alg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := pki.CheckCert(cert, key, ca.Cert, tt.spec, time.Now()); err != nil {
				t.Fatalf("issued certificate fails its own spec: %v", err)
			}
			if cert.KeyUsage != tt.wantKU {
				t.Errorf("key usage = %b, want %b", cert.KeyUsage, tt.wantKU)
			}
			if cert.IsCA {
				t.Error("leaf is a CA")
			}
			if !bytes.Equal(cert.AuthorityKeyId, ca.Cert.SubjectKeyId) || len(cert.SubjectKeyId) == 0 {
				t.Errorf("AKI %x / SKI %x, CA SKI %x", cert.AuthorityKeyId, cert.SubjectKeyId, ca.Cert.SubjectKeyId)
			}
			if cert.NotAfter.After(ca.Cert.NotAfter) {
				t.Errorf("leaf expires %v after CA %v", cert.NotAfter, ca.Cert.NotAfter)
			}
			if cert.SerialNumber.Cmp(ca.Cert.SerialNumber) == 0 {
				t.Error("serial reused")
			}
		})
	}
}

func TestIssueRefusals(t *testing.T) {
	ca := newCA(t, "kubernetes")
	spec := pki.CertSpec{CommonName: "x", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: time.Hour}
	key, _ := pki.GenerateKey("")

	external := &pki.CA{Cert: ca.Cert}
	if _, err := external.Issue(spec, key.Public()); !errors.Is(err, pki.ErrExternalCA) {
		t.Errorf("external CA: error = %v, want ErrExternalCA", err)
	}
	later := &pki.CA{Cert: ca.Cert, Key: ca.Key, Now: func() time.Time { return ca.Cert.NotAfter.Add(time.Hour) }}
	if _, err := later.Issue(spec, key.Public()); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired CA: error = %v", err)
	}
}

func TestVerifyClientCert(t *testing.T) {
	ca := newCA(t, "kubernetes")
	other := newCA(t, "kubernetes") // same name, different key: must not be trusted
	now := time.Now()
	parse := func(certPEM []byte, err error) []*x509.Certificate {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		c, err := pki.ParseCertsPEM(certPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	client := func(ca *pki.CA, cn string) []*x509.Certificate {
		c, _, err := ca.IssueClientCert(cn, []string{"system:masters"}, time.Hour)
		return parse(c, err)
	}
	serverCert, _, err := ca.IssueKeyPair(pki.CertSpec{CommonName: "srv", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		Validity: time.Hour}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		chain []*x509.Certificate
		roots *x509.CertPool
		now   time.Time
		ok    bool
	}{
		{"valid", client(ca, "alice"), ca.Pool(), now, true},
		{"foreign CA with same name", client(other, "mallory"), ca.Pool(), now, false},
		{"server-only usage", []*x509.Certificate{serverCert}, ca.Pool(), now, false},
		{"expired", client(ca, "bob"), ca.Pool(), now.Add(2 * time.Hour), false},
		{"empty chain", nil, ca.Pool(), now, false},
		{"no roots", client(ca, "carol"), nil, now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chains, err := pki.VerifyClientCert(tt.chain, tt.roots, tt.now)
			if tt.ok != (err == nil) {
				t.Fatalf("ok = %v, error = %v", tt.ok, err)
			}
			if tt.ok && (len(chains) == 0 || chains[0][0].Subject.Organization[0] != "system:masters") {
				t.Errorf("chains = %v", chains)
			}
		})
	}
}

func TestCheckCert(t *testing.T) {
	ca := newCA(t, "kubernetes")
	other := newCA(t, "other")
	spec := pki.CertSpec{CommonName: "kube-apiserver", Organization: []string{"a", "b"}, DNSNames: []string{"localhost", "kubernetes"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: time.Hour}
	cert, key, err := ca.IssueKeyPair(spec, "")
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := pki.GenerateKey("")
	now := time.Now()
	with := func(f func(*pki.CertSpec)) pki.CertSpec {
		s := spec
		s.Organization = []string{"b", "a", "a"} // order and duplicates do not matter
		f(&s)
		return s
	}
	tests := []struct {
		name   string
		key    crypto.Signer
		issuer *x509.Certificate
		spec   pki.CertSpec
		now    time.Time
		want   error
		detail string
	}{
		{name: "valid", key: key, issuer: ca.Cert, spec: with(func(*pki.CertSpec) {}), now: now},
		{name: "fewer SANs requested is fine", key: key, issuer: ca.Cert, now: now,
			spec: with(func(s *pki.CertSpec) { s.DNSNames = []string{"LOCALHOST"}; s.IPs = nil })},
		{name: "no key, no issuer", spec: spec, now: now},
		{name: "wrong key", key: otherKey, issuer: ca.Cert, spec: spec, now: now, want: pki.ErrKeyMismatch},
		{name: "foreign CA", key: key, issuer: other.Cert, spec: spec, now: now, want: pki.ErrNotSignedByCA, detail: `"other"`},
		{name: "expired", key: key, issuer: ca.Cert, spec: spec, now: now.Add(2 * time.Hour), want: pki.ErrExpired},
		{name: "not yet valid", key: key, issuer: ca.Cert, spec: spec, now: now.Add(-time.Hour), want: pki.ErrExpired},
		{name: "CN", key: key, spec: with(func(s *pki.CertSpec) { s.CommonName = "x" }), now: now,
			want: pki.ErrIdentityDrift, detail: `"kube-apiserver", want "x"`},
		{name: "O", key: key, spec: with(func(s *pki.CertSpec) { s.Organization = []string{"a"} }), now: now,
			want: pki.ErrIdentityDrift, detail: "organization"},
		{name: "usage", key: key, spec: with(func(s *pki.CertSpec) {
			s.Usages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}), now: now, want: pki.ErrIdentityDrift, detail: "clientAuth"},
		{name: "new DNS SAN", key: key, spec: with(func(s *pki.CertSpec) { s.DNSNames = append(s.DNSNames, "api.example.com") }),
			now: now, want: pki.ErrIdentityDrift, detail: "DNS:api.example.com"},
		{name: "new IP SAN", key: key, spec: with(func(s *pki.CertSpec) { s.IPs = append(s.IPs, net.ParseIP("10.0.0.1")) }),
			now: now, want: pki.ErrIdentityDrift, detail: "IP:10.0.0.1"},
		{name: "CA wanted", key: key, spec: with(func(s *pki.CertSpec) { s.IsCA = true }), now: now, want: pki.ErrIdentityDrift},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pki.CheckCert(cert, tt.key, tt.issuer, tt.spec, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not mention %q", err, tt.detail)
			}
		})
	}
}

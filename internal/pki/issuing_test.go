package pki_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/kastle-dev/kastle/internal/pki"
)

// writeTemp writes data to name in dir and returns the path.
func writeTemp(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEncryptedPKCS8(t *testing.T) {
	for _, alg := range []pki.KeyAlgorithm{pki.ECDSAP256, pki.RSA2048, pki.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			key, err := pki.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := pki.EncodeKeyPEMEncrypted(key, []byte("s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(enc, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
				t.Fatalf("unexpected PEM:\n%s", enc)
			}
			back, err := pki.ParseKeyPEMWithPassword(enc, []byte("s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := pki.KeyAlgorithmOf(back); got != alg {
				t.Errorf("round trip gave %s", got)
			}
			if _, err := pki.ParseKeyPEMWithPassword(enc, []byte("wrong")); err == nil {
				t.Error("wrong password accepted")
			}
			if _, err := pki.ParseKeyPEM(enc); err == nil || !strings.Contains(err.Error(), "unencrypted") {
				t.Errorf("ParseKeyPEM on encrypted key: %v", err)
			}
			if _, err := exec.LookPath("openssl"); err != nil {
				return
			}
			// openssl reads ours, and we read openssl's.
			dir := t.TempDir()
			f := writeTemp(t, dir, "enc.pem", enc)
			plain := openssl(t, "pkcs8", "-in", f, "-passin", "pass:s3cret")
			k2, err := pki.ParseKeyPEM([]byte(plain))
			if err != nil || !k2.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Fatalf("openssl decrypted a different key: %v", err)
			}
			plainFile := writeTemp(t, dir, "plain.pem", []byte(plain))
			for _, args := range [][]string{
				{"-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256"},
				{"-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"},
				{"-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA512"},
			} {
				out := openssl(t, append([]string{"pkcs8", "-topk8", "-in", plainFile, "-passout", "pass:pw"}, args...)...)
				k3, err := pki.ParseKeyPEMWithPassword([]byte(out), []byte("pw"))
				if err != nil {
					t.Fatalf("openssl pkcs8 %v: %v", args, err)
				}
				if !k3.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
					t.Fatalf("openssl pkcs8 %v: different key", args)
				}
			}
		})
	}
}

func TestEncryptedPKCS8Refusals(t *testing.T) {
	key, _ := pki.GenerateKey(pki.ECDSAP256)
	if _, err := pki.EncodeKeyPEMEncrypted(key, nil); err == nil {
		t.Error("empty password accepted")
	}
	for name, data := range map[string][]byte{
		"garbage DER": pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0x03, 1, 2, 3}}),
		"no block":    []byte("nothing"),
	} {
		if _, err := pki.ParseKeyPEMWithPassword(data, []byte("pw")); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseSigningConfig(t *testing.T) {
	good := `{"signing": {"default": {"expiry": "168h"}, "profiles": {
	  "server": {"expiry": "8760h", "usages": ["signing", "key encipherment", "server auth"]},
	  "peer": {"usages": ["signing", "key encipherment", "server auth", "client auth"]},
	  "intermediate": {"expiry": "43800h", "usages": ["cert sign", "crl sign"], "ca_constraint": {"is_ca": true, "max_path_len": 0, "max_path_len_zero": true}}}}}`
	cfg, err := pki.ParseSigningConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := cfg.Profile("server")
	if srv.Expiry != 8760*time.Hour || srv.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment ||
		len(srv.Usages) != 1 || srv.Usages[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("server profile %+v", srv)
	}
	peer, _ := cfg.Profile("peer")
	if peer.Expiry != 168*time.Hour || len(peer.Usages) != 2 {
		t.Errorf("peer profile inherits default expiry: %+v", peer)
	}
	inter, _ := cfg.Profile("intermediate")
	if !inter.IsCA || !inter.MaxPathLenZero {
		t.Errorf("intermediate profile %+v", inter)
	}
	if _, err := cfg.Profile("nope"); err == nil || !strings.Contains(err.Error(), "known: intermediate, peer, server") {
		t.Errorf("unknown profile error: %v", err)
	}
	if _, err := cfg.Profile(""); err == nil {
		t.Error("default profile without usages should not issue")
	}

	bad := []struct{ name, json, want string }{
		{"not json", `{`, "ca-config"},
		{"no signing", `{}`, `no "signing"`},
		{"unknown field", `{"signing": {"profiles": {"a": {"usage": ["server auth"]}}}}`, "unknown field"},
		{"bad usage", `{"signing": {"profiles": {"a": {"usages": ["server-auth"]}}}}`, `unknown usage "server-auth"`},
		{"bad expiry", `{"signing": {"profiles": {"a": {"expiry": "1y", "usages": ["server auth"]}}}}`, `expiry "1y"`},
		{"negative expiry", `{"signing": {"profiles": {"a": {"expiry": "-1h", "usages": ["server auth"]}}}}`, `expiry "-1h"`},
		{"no ext usage", `{"signing": {"profiles": {"a": {"usages": ["signing"]}}}}`, "profile a: an end-entity profile"},
		{"bad OCSP URL", `{"signing": {"profiles": {"a": {"usages": ["server auth"], "ocsp_url": "ftp://x"}}}}`, "not an http(s) URL"},
		{"unsupported restriction", `{"signing": {"profiles": {"a": {"usages": ["server auth"], "name_whitelist": ".*"}}}}`, "unknown field"},
		{"path len without CA", `{"signing": {"profiles": {"a": {"usages": ["server auth"], "ca_constraint": {"max_path_len": 2}}}}}`, "is_ca is false"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pki.ParseSigningConfig([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseCSRRequest(t *testing.T) {
	tests := []struct {
		name, json string
		alg        pki.KeyAlgorithm
		want       string
	}{
		{"default key", `{"CN": "a"}`, pki.ECDSAP256, ""},
		{"ecdsa 384", `{"CN": "a", "key": {"algo": "ecdsa", "size": 384}}`, pki.ECDSAP384, ""},
		{"rsa", `{"CN": "a", "key": {"algo": "rsa", "size": 2048}}`, pki.RSA2048, ""},
		{"ed25519", `{"CN": "a", "key": {"algo": "ed25519"}}`, pki.Ed25519, ""},
		{"ecdsa 521", `{"CN": "a", "key": {"algo": "ecdsa", "size": 521}}`, "", "key size 521"},
		{"rsa 1024", `{"CN": "a", "key": {"algo": "rsa", "size": 1024}}`, "", "key size 1024"},
		{"dsa", `{"CN": "a", "key": {"algo": "dsa", "size": 1024}}`, "", `algo "dsa"`},
		{"no CN", `{"hosts": ["a"]}`, "", `"CN" is empty`},
		{"bad host", `{"CN": "a", "hosts": ["a b"]}`, "", "hosts"},
		{"unknown field", `{"CN": "a", "host": ["x"]}`, "", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := pki.ParseCSRRequest([]byte(tt.json))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if alg, _ := r.KeyAlgorithm(); alg != tt.alg {
				t.Errorf("algorithm %s, want %s", alg, tt.alg)
			}
		})
	}
}

// TestIssueFullSubjectWithOpenSSL issues from a cfssl csr.json through a
// CSR and checks every field with the real openssl (and cfssl, when
// installed).
func TestIssueFullSubjectWithOpenSSL(t *testing.T) {
	root := newCA(t, "root-ca")
	cfg, err := pki.ParseSigningConfig([]byte(`{"auth_keys": {"k": {"type": "standard", "key": "0123"}},
		"signing": {"profiles": {"www": {"expiry": "720h", "auth_key": "k",
		"ocsp_url": "http://ca.example.com/ocsp", "crl_url": "http://ca.example.com/crl",
		"usages": ["signing", "key encipherment", "server auth", "client auth"]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	req, err := pki.ParseCSRRequest([]byte(`{"CN": "www.example.com", "hosts": ["www.example.com", "10.0.0.1",
		"spiffe://example.com/ns/default/sa/web", "ops@example.com"],
		"names": [{"C": "CN", "ST": "Beijing", "L": "Haidian", "O": "Tsinghua", "OU": "CS"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cfg.Profile("www")
	spec, err := req.Spec(p)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := pki.GenerateKey(pki.ECDSAP256)
	csrPEM, err := pki.CreateCSR(key, spec)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.ParseCSRPEM(csrPEM)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := root.IssueCSR(csr, pki.SpecFromCSR(csr, p))
	if err != nil {
		t.Fatal(err)
	}
	if d := cert.NotAfter.Sub(cert.NotBefore); d < 720*time.Hour || d > 720*time.Hour+pki.Backdate+time.Minute {
		t.Errorf("validity %v", d)
	}
	if cert.SerialNumber.BitLen() < 64 {
		t.Errorf("serial %x too short", cert.SerialNumber)
	}
	requireOpenSSL(t)
	dir := t.TempDir()
	caFile := writeTemp(t, dir, "ca.crt", pki.EncodeCertPEM(root.Cert))
	crt := writeTemp(t, dir, "www.crt", pki.EncodeCertPEM(cert))
	openssl(t, "verify", "-CAfile", caFile, "-purpose", "sslserver", crt)
	text := openssl(t, "x509", "-in", crt, "-noout", "-text", "-nameopt", "RFC2253")
	for _, want := range []string{"CN=www.example.com,OU=CS,O=Tsinghua,L=Haidian,ST=Beijing,C=CN",
		"DNS:www.example.com", "IP Address:10.0.0.1", "URI:spiffe://example.com/ns/default/sa/web",
		"email:ops@example.com", "Digital Signature, Key Encipherment",
		"TLS Web Server Authentication, TLS Web Client Authentication", "Issuer: CN=root-ca",
		"OCSP - URI:http://ca.example.com/ocsp", "URI:http://ca.example.com/crl"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl text lacks %q:\n%s", want, text)
		}
	}
	// Validity as openssl reads it: backdated start, 720h end.
	dates := openssl(t, "x509", "-in", crt, "-noout", "-startdate", "-enddate")
	for _, want := range []string{"notBefore=" + cert.NotBefore.UTC().Format("Jan _2 15:04:05 2006 GMT"),
		"notAfter=" + cert.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT")} {
		if !strings.Contains(dates, want) {
			t.Errorf("openssl dates %q lack %q", dates, want)
		}
	}
	if time.Since(cert.NotBefore) < pki.Backdate-time.Minute {
		t.Errorf("not backdated: NotBefore %v", cert.NotBefore)
	}
	cfsslCertinfo(t, crt, "www.example.com")
}

// cfsslCertinfo runs `cfssl certinfo` on a certificate when cfssl is
// installed; under CI=true its absence fails the test.
func cfsslCertinfo(t *testing.T, crt, wantCN string) {
	t.Helper()
	if _, err := exec.LookPath("cfssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfssl is not installed but CI=true (apt-get install golang-cfssl)")
		}
		t.Log("cfssl not installed (apt-get install golang-cfssl); skipping the cfssl certinfo check")
		return
	}
	out, err := exec.Command("cfssl", "certinfo", "-cert", crt).CombinedOutput()
	if err != nil {
		t.Fatalf("cfssl certinfo: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"common_name": "`+wantCN+`"`) {
		t.Errorf("cfssl certinfo lacks CN %q:\n%s", wantCN, out)
	}
}

func TestIssueCSRRefusesBadSignature(t *testing.T) {
	root := newCA(t, "root")
	key, _ := pki.GenerateKey(pki.ECDSAP256)
	csrPEM, _ := pki.CreateCSR(key, pki.CertSpec{CommonName: "x"})
	block, _ := pem.Decode(csrPEM)
	block.Bytes[len(block.Bytes)-3] ^= 0xff // flip bits inside the signature
	if _, err := pki.ParseCSRPEM(pem.EncodeToMemory(block)); err == nil || !strings.Contains(err.Error(), "signature invalid") {
		t.Fatalf("tampered CSR: %v", err)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Skip("tampering broke the DER itself")
	}
	if _, err := root.IssueCSR(csr, pki.SpecFromCSR(csr, pki.Profiles()[pki.ProfileClient])); err == nil {
		t.Fatal("IssueCSR accepted a bad signature")
	}
	if _, err := pki.ParseCSRPEM([]byte("junk")); err == nil {
		t.Fatal("junk accepted")
	}
}

func TestIntermediateChain(t *testing.T) {
	root := newCA(t, "root")
	inter, err := root.NewIntermediate("issuing-ca", pki.ECDSAP256, 24*time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !inter.Cert.MaxPathLenZero || len(inter.Chain) != 1 {
		t.Fatalf("intermediate: pathlen0=%v chain=%d", inter.Cert.MaxPathLenZero, len(inter.Chain))
	}
	if _, err := inter.NewIntermediate("too-deep", pki.ECDSAP256, time.Hour, -1); err == nil {
		t.Error("a pathlen:0 CA issued a sub-CA")
	}
	leaf, _, err := inter.IssueKeyPair(pki.CertSpec{CommonName: "svc", DNSNames: []string{"svc"},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: 48 * time.Hour}, pki.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.NotAfter.Equal(inter.Cert.NotAfter) {
		t.Errorf("leaf outlives its CA: %v > %v", leaf.NotAfter, inter.Cert.NotAfter)
	}
	if _, ok := leaf.PublicKey.(ed25519.PublicKey); !ok {
		t.Errorf("leaf key %T", leaf.PublicKey)
	}
	bundle := inter.ChainPEM(leaf)
	certs, _ := pki.ParseCertsPEM(bundle)
	if len(certs) != 2 {
		t.Fatalf("chain has %d certificates, want leaf + intermediate", len(certs))
	}
	if _, err := pki.Verify(certs, root.Pool(), x509.ExtKeyUsageServerAuth, time.Now()); err != nil {
		t.Fatal(err)
	}
	// LoadCA round trip with an encrypted key.
	encKey, _ := pki.EncodeKeyPEMEncrypted(inter.Key, []byte("pw"))
	loaded, err := pki.LoadCA(append(pki.EncodeCertPEM(inter.Cert), pki.EncodeCertPEM(root.Cert)...), encKey, []byte("pw"))
	if err != nil || len(loaded.Chain) != 1 {
		t.Fatalf("LoadCA: %v", err)
	}
	otherKey, _ := pki.EncodeKeyPEM(root.Key)
	if _, err := pki.LoadCA(pki.EncodeCertPEM(inter.Cert), otherKey, nil); err == nil {
		t.Error("LoadCA accepted a key of another CA")
	}
	if _, err := pki.LoadCA(pki.EncodeCertPEM(leaf), nil, nil); err == nil || !strings.Contains(err.Error(), "not a CA") {
		t.Errorf("LoadCA of a leaf: %v", err)
	}
	requireOpenSSL(t)
	dir := t.TempDir()
	rootFile := writeTemp(t, dir, "root.crt", pki.EncodeCertPEM(root.Cert))
	interFile := writeTemp(t, dir, "inter.crt", pki.EncodeCertPEM(inter.Cert))
	leafFile := writeTemp(t, dir, "leaf.crt", pki.EncodeCertPEM(leaf))
	openssl(t, "verify", "-CAfile", rootFile, "-untrusted", interFile, "-purpose", "sslserver", leafFile)
	if text := openssl(t, "x509", "-in", interFile, "-noout", "-text"); !strings.Contains(text, "CA:TRUE, pathlen:0") {
		t.Errorf("intermediate lacks pathlen:0:\n%s", text)
	}
}

func TestPins(t *testing.T) {
	ca := newCA(t, "root")
	pin := pki.CertPin(ca.Cert)
	if p2, _ := pki.PublicKeyPin(ca.Cert.PublicKey); p2 != pin {
		t.Fatalf("PublicKeyPin %s != CertPin %s", p2, pin)
	}
	other := pki.CertPin(newCA(t, "other").Cert)
	tests := []struct {
		name string
		pins []string
		want string
	}{
		{"match", []string{pin}, ""},
		{"upper case", []string{"SHA256:" + strings.ToUpper(pin[7:])}, ""},
		{"one of several", []string{other, pin}, ""},
		{"mismatch", []string{other}, "computed " + pin},
		{"malformed", []string{"sha256:abc"}, "64 hex digits"},
		{"wrong prefix", []string{"md5:" + pin[7:]}, "sha256:<64 hex digits>"},
		{"none", nil, "no pin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pki.VerifyPins(ca.Cert, tt.pins)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		// kubeadm's documented way of computing the hash.
		dir := t.TempDir()
		f := writeTemp(t, dir, "ca.crt", pki.EncodeCertPEM(ca.Cert))
		cmd := exec.Command("sh", "-c", "openssl x509 -pubkey -in "+f+" | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex")
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(strings.TrimSpace(string(out)), pin[7:]) {
			t.Errorf("openssl hash %s, pin %s", out, pin)
		}
	}
}

func TestCRLAndOCSP(t *testing.T) {
	ca := newCA(t, "root")
	spec := pki.CertSpec{CommonName: "a", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: time.Hour,
		URIs: []*url.URL{{Scheme: "spiffe", Host: "x", Path: "/a"}}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}
	good, _, _ := ca.IssueKeyPair(spec, pki.ECDSAP256)
	bad, _, _ := ca.IssueKeyPair(spec, pki.ECDSAP256)
	revokedAt := time.Now().Add(-time.Minute).Truncate(time.Second)
	der, err := ca.CreateCRL([]pki.Revocation{{Serial: bad.SerialNumber, RevokedAt: revokedAt, Reason: 1}}, big.NewInt(7), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil || crl.CheckSignatureFrom(ca.Cert) != nil {
		t.Fatalf("CRL: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(bad.SerialNumber) != 0 {
		t.Fatalf("CRL entries %+v", crl.RevokedCertificateEntries)
	}
	lookup := func(s *big.Int) (pki.OCSPStatus, error) {
		switch {
		case s.Cmp(bad.SerialNumber) == 0:
			return pki.OCSPStatus{Known: true, Revoked: true, RevokedAt: revokedAt, Reason: 1}, nil
		case s.Cmp(good.SerialNumber) == 0:
			return pki.OCSPStatus{Known: true}, nil
		}
		return pki.OCSPStatus{}, nil
	}
	for _, tt := range []struct {
		cert *x509.Certificate
		want int
	}{{good, ocsp.Good}, {bad, ocsp.Revoked}} {
		req, _ := ocsp.CreateRequest(tt.cert, ca.Cert, nil)
		respDER, err := ca.OCSPRespond(req, lookup)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ocsp.ParseResponseForCert(respDER, tt.cert, ca.Cert)
		if err != nil || resp.Status != tt.want {
			t.Fatalf("OCSP for %x: status %v err %v, want %d", tt.cert.SerialNumber, resp, err, tt.want)
		}
	}
	if resp, _ := ca.OCSPRespond([]byte("junk"), lookup); !bytes.Equal(resp, ocsp.MalformedRequestErrorResponse) {
		t.Error("junk request did not get malformedRequest")
	}
	other := newCA(t, "other")
	foreign, _, _ := other.IssueKeyPair(spec, pki.ECDSAP256)
	req, _ := ocsp.CreateRequest(foreign, other.Cert, nil)
	if resp, _ := ca.OCSPRespond(req, lookup); !bytes.Equal(resp, ocsp.UnauthorizedErrorResponse) {
		t.Error("request about another CA did not get unauthorized")
	}

	requireOpenSSL(t)
	dir := t.TempDir()
	crlFile := writeTemp(t, dir, "crl.der", der)
	text := openssl(t, "crl", "-inform", "DER", "-in", crlFile, "-text", "-noout")
	serialHex := bad.SerialNumber.Text(16)
	if len(serialHex)%2 == 1 { // openssl prints an even number of digits
		serialHex = "0" + serialHex
	}
	for _, want := range []string{"X509v3 CRL Number", "7", "Serial Number: " + serialHex, "Key Compromise"} {
		if !strings.Contains(strings.ToUpper(text), strings.ToUpper(want)) {
			t.Errorf("openssl crl lacks %q:\n%s", want, text)
		}
	}
	caFile := writeTemp(t, dir, "ca.crt", pki.EncodeCertPEM(ca.Cert))
	badFile := writeTemp(t, dir, "bad.crt", pki.EncodeCertPEM(bad))
	reqFile := filepath.Join(dir, "req.der")
	openssl(t, "ocsp", "-issuer", caFile, "-cert", badFile, "-reqout", reqFile, "-no_nonce")
	reqDER, _ := os.ReadFile(reqFile)
	respDER, err := ca.OCSPRespond(reqDER, lookup)
	if err != nil {
		t.Fatal(err)
	}
	respFile := writeTemp(t, dir, "resp.der", respDER)
	out := openssl(t, "ocsp", "-issuer", caFile, "-cert", badFile, "-respin", respFile, "-CAfile", caFile, "-no_nonce")
	if !strings.Contains(out, "Response verify OK") || !strings.Contains(out, ": revoked") {
		t.Errorf("openssl ocsp:\n%s", out)
	}
}

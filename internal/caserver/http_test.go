package caserver

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/kastle-dev/kastle/internal/pki"
)

// newTestService makes a service over a new CA in a temporary directory.
func newTestService(t *testing.T, policy *Policy) *Service {
	t.Helper()
	ca, err := pki.NewSelfSignedCA("test-ca", pki.ECDSAP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenStore(filepath.Join(t.TempDir(), JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if policy == nil {
		policy = DefaultPolicy()
	}
	return &Service{CA: ca, Store: store, Policy: policy, Logger: slog.New(slog.DiscardHandler)}
}

// testAuthn trusts an X-Test-User header: the transports' own
// authentication is covered by the end-to-end test.
func testAuthn(r *http.Request) string { return r.Header.Get("X-Test-User") }

func csrPEM(t *testing.T, cn string, hosts ...string) []byte {
	t.Helper()
	key, _ := pki.GenerateKey(pki.ECDSAP256)
	sans, err := pki.ParseHosts(hosts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pki.CreateCSR(key, pki.CertSpec{CommonName: cn, DNSNames: sans.DNSNames, IPs: sans.IPs, URIs: sans.URIs})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHTTPStatusCodes(t *testing.T) {
	svc := newTestService(t, nil)
	h := NewHTTPHandler(svc, testAuthn)
	good := csrPEM(t, "svc", "svc.example.com", "127.0.0.1")
	blk, _ := pem.Decode(good)
	blk.Bytes[len(blk.Bytes)-4] ^= 0x55 // inside the signature
	bad := pem.EncodeToMemory(blk)
	tests := []struct {
		name, method, path, ctype, user string
		body                            []byte
		code                            int
		allow                           string
	}{
		{"ca.crt open", "GET", "/ca.crt", "", "", nil, 200, ""},
		{"template open", "GET", "/csr-template", "", "", nil, 200, ""},
		{"crl open", "GET", "/crl", "", "", nil, 200, ""},
		{"wrong method", "GET", "/csr", "", "client-admin", nil, 405, "POST"},
		{"wrong method on ca.crt", "DELETE", "/ca.crt", "", "", nil, 405, "GET"},
		{"unknown path", "GET", "/nope", "", "", nil, 404, ""},
		{"no credentials", "POST", "/csr", ContentTypePKCS10, "", good, 401, ""},
		{"not allowed", "POST", "/csr", ContentTypePKCS10, "mallory", good, 403, ""},
		{"bad content type", "POST", "/csr", "text/plain", "client-admin", good, 415, ""},
		{"garbage CSR", "POST", "/csr", ContentTypePKCS10, "client-admin", []byte("junk"), 400, ""},
		{"tampered CSR", "POST", "/csr", ContentTypePKCS10, "client-admin", bad, 400, ""},
		{"too large", "POST", "/csr", ContentTypePKCS10, "client-admin", bytes.Repeat([]byte("A"), MaxBodyBytes+1), 413, ""},
		{"bad JSON", "POST", "/csr", ContentTypeJSON, "client-admin", []byte("{"), 400, ""},
		{"unknown JSON field", "POST", "/csr", ContentTypeJSON, "client-admin", []byte(`{"SubjectCommonName":"a","Evil":1}`), 400, ""},
		{"bad IP", "POST", "/csr", ContentTypeJSON, "client-admin", []byte(`{"SubjectCommonName":"a","IPAddresses":["1.2.3"]}`), 400, ""},
		{"street address", "POST", "/csr", ContentTypeJSON, "client-admin", []byte(`{"SubjectCommonName":"a","SubjectStreetAddress":["x"]}`), 400, ""},
		{"unknown profile", "POST", "/csr?profile=nope", ContentTypePKCS10, "client-admin", good, 400, ""},
		{"weak RSA key", "POST", "/csr", ContentTypePKCS10, "client-admin", weakCSR(t), 400, ""},
		{"signed", "POST", "/csr", ContentTypePKCS10, "client-admin", good, 201, ""},
		{"cert no credentials", "GET", "/certs/1", "", "", nil, 401, ""},
		{"cert not found", "GET", "/certs/1", "", "client-admin", nil, 404, ""},
		{"revoke bad body", "POST", "/revoke", ContentTypeJSON, "client-admin", []byte(`{}`), 400, ""},
		{"revoke not found", "POST", "/revoke", ContentTypeJSON, "client-admin", []byte(`{"id":"1"}`), 404, ""},
		{"revoke no credentials", "POST", "/revoke", ContentTypeJSON, "", []byte(`{"id":"1"}`), 401, ""},
		{"ocsp bad type", "POST", "/ocsp", "text/plain", "", []byte("x"), 415, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, bytes.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.user != "" {
				req.Header.Set("X-Test-User", tt.user)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("%s %s: %d, want %d: %s", tt.method, tt.path, rec.Code, tt.code, rec.Body)
			}
			if tt.allow != "" && rec.Header().Get("Allow") != tt.allow {
				t.Errorf("Allow %q, want %q", rec.Header().Get("Allow"), tt.allow)
			}
			if tt.code >= 400 {
				var e errorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != tt.code || e.Message == "" {
					t.Errorf("error body %q is not a JSON error: %v", rec.Body, err)
				}
			}
		})
	}
}

// do runs one request through h.
func do(h http.Handler, method, path, ctype, user string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHTTPFlows(t *testing.T) {
	policy := DefaultPolicy()
	policy.Identities["alice"] = Rule{Profiles: []string{"client"}, CommonNames: []string{"alice"}}
	svc := newTestService(t, policy)
	h := NewHTTPHandler(svc, testAuthn)

	// PKCS #10: the requester keeps its key.
	rec := do(h, "POST", "/csr?profile=client", ContentTypePKCS10, "alice", csrPEM(t, "alice"))
	if rec.Code != 201 {
		t.Fatalf("sign: %d %s", rec.Code, rec.Body)
	}
	certs, err := pki.ParseCertsPEM(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	alice := certs[0]
	id := strings.TrimPrefix(rec.Header().Get("Location"), "/certs/")
	if id != alice.SerialNumber.Text(16) {
		t.Errorf("Location %q, serial %x", id, alice.SerialNumber)
	}
	if _, err := pki.VerifyClientCert(certs, svc.CA.Pool(), time.Now()); err != nil {
		t.Fatal(err)
	}
	// The seed's subject form: the key comes back once, in the answer.
	rec = do(h, "POST", "/csr", ContentTypeJSON, "client-admin", []byte(`{"SubjectCommonName":"www.tsinghua.edu.cn",
		"SubjectCountry":["CN"],"SubjectOrganization":["Qinghua"],"DNSNames":["localhost"],"IPAddresses":["127.0.0.1"],
		"EmailAddresses":["ex@example.com"]}`))
	if rec.Code != 201 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("subject form: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	var signed SignedJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &signed); err != nil {
		t.Fatal(err)
	}
	key, err := pki.ParseKeyPEM([]byte(signed.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := pki.ParseCertsPEM([]byte(signed.Certificate))
	if !publicKeyEqual(c2[0].PublicKey, key.Public()) {
		t.Fatal("returned key does not match the certificate")
	}
	// openssl's spelling of the serial finds it too.
	opensslID := "0x" + strings.ToUpper("00"+id)
	if rec := do(h, "GET", "/certs/"+opensslID, "", "alice", nil); rec.Code != 200 {
		t.Fatalf("GET /certs/%s: %d", opensslID, rec.Code)
	}
	// GET /certs/{id} returns the certificate, as PEM or JSON record.
	rec = do(h, "GET", "/certs/"+id, "", "client-admin", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "BEGIN CERTIFICATE") {
		t.Fatalf("get cert: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "GET", "/certs/"+signed.CertificateID, "", "alice", nil, "Accept", "application/json")
	var r Record
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.Requester != "client-admin" || r.Profile != "peer" {
		t.Fatalf("record %+v %v", r, err)
	}
	if strings.Contains(rec.Body.String(), "PRIVATE KEY") {
		t.Fatal("a record carries a private key")
	}
	// alice may not revoke client-admin's certificate, but her own.
	rec = do(h, "POST", "/revoke", ContentTypeJSON, "alice", []byte(`{"id":"`+signed.CertificateID+`"}`))
	if rec.Code != 403 {
		t.Fatalf("revoke other's: %d", rec.Code)
	}
	rec = do(h, "POST", "/revoke", ContentTypeJSON, "alice", []byte(`{"id":"`+id+`","reason":1}`))
	if rec.Code != 200 {
		t.Fatalf("revoke own: %d %s", rec.Code, rec.Body)
	}
	// The CRL lists it (DER by default, PEM on request); OCSP says revoked.
	rec = do(h, "GET", "/crl", "", "", nil)
	crl, err := x509ParseCRL(rec.Body.Bytes())
	if err != nil || len(crl) != 1 || crl[0] != id {
		t.Fatalf("CRL: %v %v", crl, err)
	}
	rec = do(h, "GET", "/crl", "", "", nil, "Accept", ContentTypePEM)
	if b, _ := pem.Decode(rec.Body.Bytes()); b == nil || b.Type != "X509 CRL" {
		t.Fatalf("PEM CRL: %s", rec.Body)
	}
	req, _ := ocsp.CreateRequest(alice, svc.CA.Cert, nil)
	rec = do(h, "POST", "/ocsp", ContentTypeOCSPReq, "", req)
	resp, err := ocsp.ParseResponseForCert(rec.Body.Bytes(), alice, svc.CA.Cert)
	if err != nil || resp.Status != ocsp.Revoked || resp.RevocationReason != 1 {
		t.Fatalf("OCSP: %+v %v", resp, err)
	}
	rec = do(h, "GET", "/ocsp/"+url.PathEscape(base64.StdEncoding.EncodeToString(req)), "", "", nil)
	resp, err = ocsp.ParseResponseForCert(rec.Body.Bytes(), alice, svc.CA.Cert)
	if err != nil || resp.Status != ocsp.Revoked {
		t.Fatalf("OCSP GET: %d %+v %v", rec.Code, resp, err)
	}
	if rec = do(h, "GET", "/ocsp/!!!", "", "", nil); rec.Code != 400 {
		t.Fatalf("OCSP GET junk: %d", rec.Code)
	}
}

func TestTakeKeyOnceAndOnlyByRequester(t *testing.T) {
	svc := newTestService(t, nil)
	svc.HoldKey("ab", "alice", []byte("KEY"))
	if _, err := svc.TakeKey("ab", "bob"); err == nil {
		t.Fatal("bob took alice's key")
	}
	if k, err := svc.TakeKey("ab", "alice"); err != nil || string(k) != "KEY" {
		t.Fatalf("alice: %q %v", k, err)
	}
	if _, err := svc.TakeKey("ab", "alice"); err == nil {
		t.Fatal("key handed out twice")
	}
}

func TestTokens(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "tokens")
		if err := osWriteFile(p, s); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tok, err := LoadTokens(write("# comment\n0123456789abcdef0123,ci\n\nfedcba9876543210fedc,deployer,extra\n"))
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"0123456789abcdef0123": "ci", "fedcba9876543210fedc": "deployer",
		"0123456789abcdef012": "", "": ""} {
		if got := tok.Authenticate(in); got != want {
			t.Errorf("Authenticate(%q) = %q, want %q", in, got, want)
		}
	}
	for doc, want := range map[string]string{"short,ci\n": "shorter than 16", "0123456789abcdef0123\n": "token,name",
		"0123456789abcdef0123,a\n0123456789abcdef0124,a\n": "duplicate", "# none\n": "no tokens"} {
		if _, err := LoadTokens(write(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", doc, err, want)
		}
	}
}

// weakCSR is a valid CSR for a 1024-bit RSA key.
func weakCSR(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "weak"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

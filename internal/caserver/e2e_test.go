package caserver_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/kastle-dev/kastle/internal/caserver"
	capb "github.com/kastle-dev/kastle/internal/caserver/proto"
	"github.com/kastle-dev/kastle/internal/pki"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

// kastleBinary builds cmd/kastle once per test run.
func kastleBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "kastle-ca-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "kastle")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/kastle-dev/kastle/cmd/kastle").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// freeAddr returns a free 127.0.0.1 port.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// server is a running `kastle ca serve`.
type server struct {
	addr, dir string
	cmd       *exec.Cmd
	log       *bytes.Buffer
	done      chan struct{}
}

// startServer runs `kastle ca serve` on a free loopback port and waits
// until it accepts connections; it is stopped in t.Cleanup.
func startServer(t testing.TB, dir string, args ...string) *server {
	t.Helper()
	s := &server{addr: freeAddr(t), dir: dir, log: &bytes.Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(kastleBinary(t), append([]string{"ca", "serve", "--dir", dir, "--listen", s.addr}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("kastle ca serve exited early:\n%s", s.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kastle ca serve did not listen on %s:\n%s", s.addr, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the server (SIGTERM, then SIGKILL) and waits for it.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *server) file(name string) string { return filepath.Join(s.dir, name) }

// httpClient trusts the service's CA and presents certFile/keyFile if set.
func httpClient(t testing.TB, caFile, certFile, keyFile string) *http.Client {
	t.Helper()
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	tr := &http.Transport{TLSClientConfig: tc}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// call does one request and returns status and body.
func call(t testing.TB, c *http.Client, method, url, ctype string, body []byte, hdr ...string) (int, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

// run runs a command and returns its combined output, failing on error.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func requireTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed but CI=true", name)
		}
		t.Skipf("%s not installed", name)
	}
}

func fileMode(t testing.TB, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// ocspCheck asks the service about cert through openssl: openssl writes
// the request, curl posts it (with the client certificate under mTLS),
// openssl verifies the answer. It returns openssl's status line.
func ocspCheck(t *testing.T, s *server, curlAuth []string, certFile string) string {
	t.Helper()
	dir := t.TempDir()
	reqFile, respFile := filepath.Join(dir, "req.der"), filepath.Join(dir, "resp.der")
	run(t, "openssl", "ocsp", "-issuer", s.file("ca.crt"), "-cert", certFile, "-reqout", reqFile, "-no_nonce")
	args := append([]string{"-sS", "--noproxy", "*", "-f", "--cacert", s.file("ca.crt"), "-H", "Content-Type: application/ocsp-request",
		"--data-binary", "@" + reqFile, "-o", respFile}, curlAuth...)
	run(t, "curl", append(args, "https://"+s.addr+"/ocsp")...)
	out := run(t, "openssl", "ocsp", "-issuer", s.file("ca.crt"), "-cert", certFile, "-respin", respFile,
		"-CAfile", s.file("ca.crt"), "-no_nonce")
	if !strings.Contains(out, "Response verify OK") {
		t.Fatalf("openssl ocsp could not verify the answer:\n%s", out)
	}
	return out
}

// TestE2EHTTPSWithMTLS covers the HTTPS API with mutual TLS, end to end
// with the real binary, openssl and curl, including a restart.
func TestE2EHTTPSWithMTLS(t *testing.T) {
	requireTool(t, "openssl")
	requireTool(t, "curl")
	dir := filepath.Join(t.TempDir(), "ca")
	s := startServer(t, dir, "--grpc=false", "--mtls=true")

	if m := fileMode(t, dir); m != 0o700 {
		t.Errorf("dir mode %v", m)
	}
	for _, k := range []string{"ca.key", "server.key", "client-admin.key"} {
		if m := fileMode(t, s.file(k)); m != 0o600 {
			t.Errorf("%s mode %v", k, m)
		}
	}
	run(t, "openssl", "verify", "-CAfile", s.file("ca.crt"), "-purpose", "sslserver", s.file("server.crt"))
	run(t, "openssl", "verify", "-CAfile", s.file("ca.crt"), "-purpose", "sslclient", s.file("client-admin.crt"))
	caBefore, _ := os.ReadFile(s.file("ca.crt"))

	base := "https://" + s.addr
	// No client certificate: refused at the handshake.
	anon := httpClient(t, s.file("ca.crt"), "", "")
	if _, _, err := call(t, anon, "GET", base+"/csr-template", "", nil); err == nil {
		t.Fatal("a client without certificate got an answer")
	}
	admin := httpClient(t, s.file("ca.crt"), s.file("client-admin.crt"), s.file("client-admin.key"))

	// Seed flow: template, then the subject form (server makes the key).
	code, body, err := call(t, admin, "GET", base+"/csr-template", "", nil)
	if err != nil || code != 200 {
		t.Fatalf("template: %d %v", code, err)
	}
	var tmpl caserver.SubjectRequest
	if err := json.Unmarshal(body, &tmpl); err != nil || tmpl.SubjectCommonName == "" {
		t.Fatalf("template %s: %v", body, err)
	}
	tmplJSON, _ := json.Marshal(tmpl)
	code, body, _ = call(t, admin, "POST", base+"/csr", "application/json", tmplJSON)
	if code != 201 {
		t.Fatalf("subject form: %d %s", code, body)
	}
	var signed caserver.SignedJSON
	json.Unmarshal(body, &signed)
	seedCrt := filepath.Join(t.TempDir(), "seed.crt")
	os.WriteFile(seedCrt, []byte(signed.Certificate), 0o644)
	text := run(t, "openssl", "x509", "-in", seedCrt, "-noout", "-text")
	for _, want := range []string{"DNS:localhost", "IP Address:127.0.0.1", "email:ex@example.com",
		"TLS Web Server Authentication, TLS Web Client Authentication", "O = Qinghua"} {
		if !strings.Contains(text, want) {
			t.Errorf("seed certificate lacks %q:\n%s", want, text)
		}
	}

	// The requester side: key made locally, CSR sent, files written.
	out := filepath.Join(t.TempDir(), "svc-a")
	run(t, kastleBinary(t), "ca", "request", "--server", s.addr, "--ca-file", s.file("ca.crt"),
		"--cert", s.file("client-admin.crt"), "--key", s.file("client-admin.key"), "--cn", "svc-a",
		"--hosts", "svc-a.example.com,127.0.0.1", "--profile", "peer", "--out", out)
	if m := fileMode(t, out+".key"); m != 0o600 {
		t.Errorf("requested key mode %v", m)
	}
	run(t, "openssl", "verify", "-CAfile", s.file("ca.crt"), "-purpose", "sslclient", out+".crt")
	text = run(t, "openssl", "x509", "-in", out+".crt", "-noout", "-text", "-serial")
	if !strings.Contains(text, "DNS:svc-a.example.com") || !strings.Contains(text, "IP Address:127.0.0.1") {
		t.Errorf("requested certificate SANs:\n%s", text)
	}
	crtPEM, _ := os.ReadFile(out + ".crt")
	certs, _ := pki.ParseCertsPEM(crtPEM)
	id := certs[0].SerialNumber.Text(16)

	// The new identity is authenticated but not allowed to sign.
	svcA := httpClient(t, s.file("ca.crt"), out+".crt", out+".key")
	code, _, err = call(t, svcA, "POST", base+"/csr", "application/json", []byte(`{"SubjectCommonName":"x"}`))
	if err != nil || code != 403 {
		t.Fatalf("svc-a signing: %d %v", code, err)
	}
	// curl sees the same API.
	cert := run(t, "curl", "-sS", "--noproxy", "*", "-f", "--cacert", s.file("ca.crt"), "--cert", s.file("client-admin.crt"),
		"--key", s.file("client-admin.key"), base+"/certs/"+id)
	if !strings.Contains(cert, "BEGIN CERTIFICATE") {
		t.Fatalf("curl /certs/%s: %s", id, cert)
	}
	adminCurl := []string{"--cert", s.file("client-admin.crt"), "--key", s.file("client-admin.key")}
	if st := ocspCheck(t, s, adminCurl, out+".crt"); !strings.Contains(st, ": good") {
		t.Errorf("OCSP before revocation:\n%s", st)
	}

	// Revoke: CRL and OCSP say so, and the certificate can no longer log in.
	code, body, _ = call(t, admin, "POST", base+"/revoke", "application/json", []byte(`{"id":"`+id+`","reason":1}`))
	if code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if st := ocspCheck(t, s, adminCurl, out+".crt"); !strings.Contains(st, ": revoked") {
		t.Errorf("OCSP after revocation:\n%s", st)
	}
	checkCRL(t, s, admin, id)
	svcA.Transport.(*http.Transport).CloseIdleConnections()
	if _, _, err := call(t, svcA, "GET", base+"/csr-template", "", nil); err == nil {
		t.Error("a revoked client certificate completed the handshake")
	}

	// Restart: same CA, records kept, revocation kept.
	s.stop()
	s2 := startServer(t, dir, "--grpc=false", "--mtls=true")
	caAfter, _ := os.ReadFile(s2.file("ca.crt"))
	if !bytes.Equal(caBefore, caAfter) {
		t.Fatal("restart regenerated the CA")
	}
	admin2 := httpClient(t, s2.file("ca.crt"), s2.file("client-admin.crt"), s2.file("client-admin.key"))
	code, body, _ = call(t, admin2, "GET", "https://"+s2.addr+"/certs/"+id, "", nil, "Accept", "application/json")
	var rec caserver.Record
	if code != 200 || json.Unmarshal(body, &rec) != nil || rec.RevokedAt == nil || rec.Requester != "client-admin" {
		t.Fatalf("record after restart: %d %s", code, body)
	}
	checkCRL(t, s2, admin2, id)
	if st := ocspCheck(t, s2, adminCurl, out+".crt"); !strings.Contains(st, ": revoked") {
		t.Errorf("OCSP after restart:\n%s", st)
	}
}

// checkCRL fetches /crl and checks with openssl that it lists id.
func checkCRL(t *testing.T, s *server, c *http.Client, id string) {
	t.Helper()
	code, der, err := call(t, c, "GET", "https://"+s.addr+"/crl", "", nil)
	if err != nil || code != 200 {
		t.Fatalf("GET /crl: %d %v", code, err)
	}
	f := filepath.Join(t.TempDir(), "crl.der")
	os.WriteFile(f, der, 0o644)
	text := run(t, "openssl", "crl", "-inform", "DER", "-in", f, "-text", "-noout")
	// openssl prints serials with an even number of hex digits.
	want := strings.ToLower(id)
	if len(want)%2 == 1 {
		want = "0" + want
	}
	if !strings.Contains(strings.ToLower(text), "serial number: "+want) {
		t.Errorf("CRL does not list %s:\n%s", id, text)
	}
	run(t, "openssl", "crl", "-inform", "DER", "-in", f, "-noout", "-CAfile", s.file("ca.crt"))
}

const e2eToken = "e2e-token-0123456789abcdef"

// tokenSetup writes a token file and a policy granting its identity.
func tokenSetup(t *testing.T) (tokenFile, policyFile string) {
	dir := t.TempDir()
	tokenFile = filepath.Join(dir, "tokens.csv")
	os.WriteFile(tokenFile, []byte(e2eToken+",ci\n"), 0o600)
	policyFile = filepath.Join(dir, "policy.yaml")
	os.WriteFile(policyFile, []byte(`identities:
  ci:
    profiles: [server, client, peer]
    commonNames: ["ci-*", "www.tsinghua.edu.cn"]
    sans: ["*.example.com", "localhost", "127.0.0.1", "ex@example.com"]
    organizations: ["Qinghua"]
    maxLifetime: 48h
`), 0o600)
	return tokenFile, policyFile
}

// TestE2EHTTPSWithToken covers the API without mTLS: bearer tokens.
func TestE2EHTTPSWithToken(t *testing.T) {
	requireTool(t, "openssl")
	// Without mTLS and without tokens the service refuses to start.
	cmd := exec.Command(kastleBinary(t), "ca", "serve", "--dir", t.TempDir(), "--listen", freeAddr(t), "--grpc=false", "--mtls=false")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "--token-file") {
		t.Fatalf("started without credentials: %v\n%s", err, out)
	}
	tokenFile, policyFile := tokenSetup(t)
	s := startServer(t, filepath.Join(t.TempDir(), "ca"), "--grpc=false", "--mtls=false",
		"--token-file", tokenFile, "--policy-file", policyFile)
	c := httpClient(t, s.file("ca.crt"), "", "")
	base := "https://" + s.addr
	csr := func(cn string) []byte {
		key, _ := pki.GenerateKey(pki.ECDSAP256)
		b, _ := pki.CreateCSR(key, pki.CertSpec{CommonName: cn, DNSNames: []string{"a.example.com"}})
		return b
	}
	for _, tt := range []struct {
		name, auth string
		body       []byte
		code       int
	}{
		{"no token", "", csr("ci-1"), 401},
		{"wrong token", "Bearer e2e-token-0123456789abcdeX", csr("ci-1"), 401},
		{"basic auth", "Basic Y2k6eA==", csr("ci-1"), 401},
		{"CN not allowed", "Bearer " + e2eToken, csr("admin"), 403},
		{"allowed", "Bearer " + e2eToken, csr("ci-1"), 201},
	} {
		hdr := []string{}
		if tt.auth != "" {
			hdr = []string{"Authorization", tt.auth}
		}
		code, body, err := call(t, c, "POST", base+"/csr?profile=server", "application/pkcs10", tt.body, hdr...)
		if err != nil || code != tt.code {
			t.Errorf("%s: %d %v %s, want %d", tt.name, code, err, body, tt.code)
		}
		if tt.code == 201 {
			certs, _ := pki.ParseCertsPEM(body)
			if d := certs[0].NotAfter.Sub(certs[0].NotBefore); d > 48*time.Hour+pki.Backdate {
				t.Errorf("maxLifetime not applied: %v", d)
			}
		}
	}
	// Open endpoints need no token.
	if code, _, _ := call(t, c, "GET", base+"/ca.crt", "", nil); code != 200 {
		t.Errorf("GET /ca.crt: %d", code)
	}
	out := filepath.Join(t.TempDir(), "ci-2")
	run(t, kastleBinary(t), "ca", "request", "--server", s.addr, "--ca-file", s.file("ca.crt"), "--token-file", tokenFile,
		"--cn", "ci-2", "--hosts", "b.example.com", "--profile", "server", "--out", out)
	run(t, "openssl", "verify", "-CAfile", s.file("ca.crt"), "-purpose", "sslserver", out+".crt")
	// openssl's own OCSP client, over HTTPS, straight at the service.
	st := run(t, "openssl", "ocsp", "-issuer", s.file("ca.crt"), "-cert", out+".crt", "-url", base+"/ocsp",
		"-CAfile", s.file("ca.crt"), "-no_nonce")
	if !strings.Contains(st, ": good") || !strings.Contains(st, "Response verify OK") {
		t.Errorf("openssl ocsp -url:\n%s", st)
	}
}

// grpcConn dials the service with the given TLS client configuration.
func grpcConn(t testing.TB, s *server, certFile, keyFile string) capb.CertificateServiceClient {
	t.Helper()
	caPEM, _ := os.ReadFile(s.file("ca.crt"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return capb.NewCertificateServiceClient(conn)
}

// TestE2EGRPC covers the seed's gRPC service, with and without mTLS.
func TestE2EGRPC(t *testing.T) {
	requireTool(t, "openssl")
	t.Run("mtls", func(t *testing.T) {
		s := startServer(t, filepath.Join(t.TempDir(), "ca"), "--grpc=true", "--mtls=true")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := grpcConn(t, s, "", "").CsrTemplate(ctx, &emptypb.Empty{}); err == nil {
			t.Fatal("a client without certificate was served")
		}
		c := grpcConn(t, s, s.file("client-admin.crt"), s.file("client-admin.key"))
		seedFlow(t, ctx, c)
		out := filepath.Join(t.TempDir(), "g")
		run(t, kastleBinary(t), "ca", "request", "--grpc", "--server", s.addr, "--ca-file", s.file("ca.crt"),
			"--cert", s.file("client-admin.crt"), "--key", s.file("client-admin.key"), "--cn", "grpc-client",
			"--profile", "client", "--out", out)
		run(t, "openssl", "verify", "-CAfile", s.file("ca.crt"), "-purpose", "sslclient", out+".crt")
		serial := strings.TrimPrefix(strings.TrimSpace(run(t, "openssl", "x509", "-in", out+".crt", "-noout", "-serial")), "serial=")
		revoked := run(t, kastleBinary(t), "ca", "revoke", "--grpc", "--server", s.addr, "--ca-file", s.file("ca.crt"),
			"--cert", s.file("client-admin.crt"), "--key", s.file("client-admin.key"), "--id", serial, "--reason", "5")
		if !strings.Contains(revoked, `"revokedAt"`) {
			t.Errorf("kastle ca revoke printed:\n%s", revoked)
		}
		// A revoked identity cannot even connect.
		if _, err := grpcConn(t, s, out+".crt", out+".key").CsrTemplate(ctx, &emptypb.Empty{}); err == nil {
			t.Error("a revoked client certificate was served")
		}
		out = filepath.Join(t.TempDir(), "g2")
		run(t, kastleBinary(t), "ca", "request", "--grpc", "--server", s.addr, "--ca-file", s.file("ca.crt"),
			"--cert", s.file("client-admin.crt"), "--key", s.file("client-admin.key"), "--cn", "grpc-client-2",
			"--profile", "client", "--out", out)
		// That identity is authenticated but the default policy grants it nothing.
		other := grpcConn(t, s, out+".crt", out+".key")
		if _, err := other.SignCsr(ctx, &capb.CertificateSigningRequest{SubjectCommonName: "x"}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("policy: %v", err)
		}
	})
	t.Run("token", func(t *testing.T) {
		tokenFile, policyFile := tokenSetup(t)
		s := startServer(t, filepath.Join(t.TempDir(), "ca"), "--grpc=true", "--mtls=false",
			"--token-file", tokenFile, "--policy-file", policyFile)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c := grpcConn(t, s, "", "")
		if _, err := c.SignCsr(ctx, &capb.CertificateSigningRequest{SubjectCommonName: "ci-1"}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("no token: %v", err)
		}
		bad := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer nope-nope-nope-nope")
		if _, err := c.SignCsr(bad, &capb.CertificateSigningRequest{SubjectCommonName: "ci-1"}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("wrong token: %v", err)
		}
		seedFlow(t, metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+e2eToken), c)
		out := filepath.Join(t.TempDir(), "t")
		run(t, kastleBinary(t), "ca", "request", "--grpc", "--server", s.addr, "--ca-file", s.file("ca.crt"),
			"--token-file", tokenFile, "--cn", "ci-3", "--hosts", "c.example.com", "--profile", "server", "--out", out)
		run(t, "openssl", "verify", "-CAfile", s.file("ca.crt"), "-purpose", "sslserver", out+".crt")
	})
}

// seedFlow runs seed 000's gRPC sequence: CsrTemplate, SignCsr, GetCert,
// GetKey (once), then SignPemCsr with a locally kept key.
func seedFlow(t *testing.T, ctx context.Context, c capb.CertificateServiceClient) {
	t.Helper()
	tmpl, err := c.CsrTemplate(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.SignCsr(ctx, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	certFile, err := c.GetCert(ctx, &capb.FileIdentifer{Id: resp.CertificateId})
	if err != nil {
		t.Fatal(err)
	}
	keyFile, err := c.GetKey(ctx, &capb.FileIdentifer{Id: resp.CertificateId})
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCertsPEM(certFile.Contents)
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.ParseKeyPEM(keyFile.Contents)
	if err != nil || !publicKeyEqual(certs[0].PublicKey, key.Public()) {
		t.Fatalf("GetKey returned a key not matching GetCert: %v", err)
	}
	if _, err := c.GetKey(ctx, &capb.FileIdentifer{Id: resp.CertificateId}); status.Code(err) != codes.NotFound {
		t.Errorf("second GetKey: %v, want NotFound", err)
	}
	if _, err := c.GetCert(ctx, &capb.FileIdentifer{Id: "0"}); status.Code(err) != codes.NotFound {
		t.Errorf("GetCert of unknown id: %v", err)
	}
	own, _ := pki.GenerateKey(pki.ECDSAP256)
	csr, _ := pki.CreateCSR(own, pki.CertSpec{CommonName: "ci-pem", DNSNames: []string{"localhost"}})
	pr, err := c.SignPemCsr(ctx, &capb.PemCsrRequest{Csr: csr, Profile: "server"})
	if err != nil {
		t.Fatal(err)
	}
	issued, _ := pki.ParseCertsPEM(pr.Certificate)
	if !publicKeyEqual(issued[0].PublicKey, own.Public()) || issued[0].SerialNumber.Text(16) != pr.CertificateId {
		t.Error("SignPemCsr issued for another key or id")
	}
	if _, err := c.SignPemCsr(ctx, &capb.PemCsrRequest{Csr: []byte("junk")}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("junk CSR: %v", err)
	}
	// Revocation and the CRL over gRPC.
	if _, err := c.Revoke(ctx, &capb.RevokeRequest{Id: pr.CertificateId, Reason: 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Revoke(ctx, &capb.RevokeRequest{Id: "0"}); status.Code(err) != codes.NotFound {
		t.Errorf("revoke unknown: %v", err)
	}
	crl, err := c.GetCrl(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := x509.ParseRevocationList(crl.Contents)
	if err != nil || len(list.RevokedCertificateEntries) != 1 ||
		list.RevokedCertificateEntries[0].SerialNumber.Cmp(issued[0].SerialNumber) != 0 {
		t.Errorf("gRPC CRL: %v %v", list, err)
	}
}

// TestE2ECfsslCompatible pipes initca and gencert into the real cfssljson
// and checks the files with openssl and cfssl certinfo.
func TestE2ECfsslCompatible(t *testing.T) {
	requireTool(t, "openssl")
	requireTool(t, "cfssljson")
	requireTool(t, "cfssl")
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	caCSR := write("ca-csr.json", `{"CN": "Example Root", "key": {"algo": "ecdsa", "size": 256},
		"names": [{"C": "CN", "ST": "Beijing", "L": "Beijing", "O": "Example", "OU": "PKI"}]}`)
	cfg := write("ca-config.json", `{"signing": {"default": {"expiry": "168h"}, "profiles": {
		"server": {"expiry": "8760h", "usages": ["signing", "key encipherment", "server auth"]},
		"client": {"expiry": "8760h", "usages": ["signing", "key encipherment", "client auth"]}}}}`)
	srvCSR := write("server.json", `{"CN": "etcd-1", "hosts": ["127.0.0.1", "etcd-1.example.com"], "key": {"algo": "rsa", "size": 2048}}`)
	pipe := func(prefix string, args ...string) {
		t.Helper()
		cmd := exec.Command("sh", append([]string{"-c", `"$0" "$@" | cfssljson -bare ` + prefix, kastleBinary(t)}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kastle %v | cfssljson: %v\n%s", args, err, out)
		}
	}
	pipe("ca", "ca", "initca", caCSR)
	pipe("server", "ca", "gencert", "-ca", filepath.Join(dir, "ca.pem"), "-ca-key", filepath.Join(dir, "ca-key.pem"),
		"-config", cfg, "-profile", "server", srvCSR)
	for _, f := range []string{"ca.pem", "ca-key.pem", "ca.csr", "server.pem", "server-key.pem", "server.csr"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("cfssljson did not write %s: %v", f, err)
		}
	}
	run(t, "openssl", "verify", "-CAfile", filepath.Join(dir, "ca.pem"), "-purpose", "sslserver", filepath.Join(dir, "server.pem"))
	run(t, "openssl", "req", "-in", filepath.Join(dir, "server.csr"), "-noout", "-verify")
	text := run(t, "openssl", "x509", "-in", filepath.Join(dir, "server.pem"), "-noout", "-text")
	for _, want := range []string{"IP Address:127.0.0.1", "DNS:etcd-1.example.com", "Digital Signature, Key Encipherment",
		"TLS Web Server Authentication", "Public-Key: (2048 bit)"} {
		if !strings.Contains(text, want) {
			t.Errorf("server.pem lacks %q", want)
		}
	}
	info := run(t, "cfssl", "certinfo", "-cert", filepath.Join(dir, "ca.pem"))
	if !strings.Contains(info, `"common_name": "Example Root"`) || !strings.Contains(info, `"organizational_unit": "PKI"`) {
		t.Errorf("cfssl certinfo of ca.pem:\n%s", info)
	}
	// -hostname replaces the hosts, as cfssl's does.
	pipe("peer", "ca", "gencert", "-ca", filepath.Join(dir, "ca.pem"), "-ca-key", filepath.Join(dir, "ca-key.pem"),
		"-config", cfg, "-profile", "client", "-hostname", "10.9.8.7,peer.example.com", srvCSR)
	text = run(t, "openssl", "x509", "-in", filepath.Join(dir, "peer.pem"), "-noout", "-text")
	if !strings.Contains(text, "IP Address:10.9.8.7") || strings.Contains(text, "etcd-1.example.com") ||
		!strings.Contains(text, "TLS Web Client Authentication") {
		t.Errorf("-hostname not applied:\n%s", text)
	}
	// An unknown profile is a clear error.
	cmd := exec.Command(kastleBinary(t), "ca", "gencert", "-ca", filepath.Join(dir, "ca.pem"), "-ca-key",
		filepath.Join(dir, "ca-key.pem"), "-config", cfg, "-profile", "nope", srvCSR)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), `unknown signing profile "nope"`) {
		t.Errorf("unknown profile: %v %s", err, out)
	}
}

package caserver

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// runInProcess starts Run on a free loopback port and stops it in cleanup.
func runInProcess(t *testing.T, cfg Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	cfg.Listen = "127.0.0.1:0"
	cfg.Ready = func(a net.Addr) { ready <- a.String() }
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	select {
	case addr := <-ready:
		return addr
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not get ready")
	}
	return ""
}

// TestRunAndRequest drives Run and Request in one process, over HTTPS and
// gRPC, with mTLS and with a token.
func TestRunAndRequest(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokenFile, []byte("in-process-token-0123456789,client-admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		grpc, mtls bool
	}{{"https-mtls", false, true}, {"grpc-mtls", true, true}, {"https-token", false, false}, {"grpc-token", true, false}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ca")
			addr := runInProcess(t, Config{Dir: dir, GRPC: tt.grpc, MTLS: tt.mtls, TokenFile: tokenFile})
			rc := RequestConfig{ClientConfig: ClientConfig{Server: addr, GRPC: tt.grpc, CAFile: filepath.Join(dir, "ca.crt")}, CN: "svc",
				Hosts: []string{"svc.example.com", "127.0.0.1", "spiffe://example.com/svc"}, Profile: "server",
				Out: filepath.Join(t.TempDir(), "svc")}
			if tt.mtls {
				rc.CertFile, rc.KeyFile = filepath.Join(dir, "client-admin.crt"), filepath.Join(dir, "client-admin.key")
			} else {
				rc.TokenFile = tokenFile
			}
			if err := Request(context.Background(), rc); err != nil {
				t.Fatal(err)
			}
			crt, _ := os.ReadFile(rc.Out + ".crt")
			key, _ := os.ReadFile(rc.Out + ".key")
			certs, err := pki.ParseCertsPEM(crt)
			if err != nil {
				t.Fatal(err)
			}
			k, err := pki.ParseKeyPEM(key)
			if err != nil || !publicKeyEqual(certs[0].PublicKey, k.Public()) {
				t.Fatalf("written pair does not match: %v", err)
			}
			if len(certs[0].URIs) != 1 || len(certs[0].IPAddresses) != 1 {
				t.Errorf("SANs: %v %v", certs[0].URIs, certs[0].IPAddresses)
			}
			// Revoke it through the same client configuration.
			rec, err := Revoke(context.Background(), rc.ClientConfig, "0x"+certs[0].SerialNumber.Text(16), 4)
			if err != nil || rec.RevokedAt == nil || rec.Reason != 4 {
				t.Fatalf("Revoke: %+v %v", rec, err)
			}
			if _, err := Revoke(context.Background(), rc.ClientConfig, "1", 0); err == nil {
				t.Error("revoking an unknown id succeeded")
			}
			// A denied request leaves no files and says why.
			rc.CN, rc.Out = "x", filepath.Join(t.TempDir(), "x")
			rc.Profile = "nope"
			if err := Request(context.Background(), rc); err == nil || !strings.Contains(err.Error(), "unknown profile") {
				t.Fatalf("unknown profile: %v", err)
			}
			if _, err := os.Stat(rc.Out + ".key"); !errors.Is(err, os.ErrNotExist) {
				t.Error("a failed request wrote a key")
			}
		})
	}
}

func TestRunRefusesUnsafeConfigs(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]Config{
		"no dir":                {Listen: "127.0.0.1:0", MTLS: true},
		"no mtls and no tokens": {Dir: dir, Listen: "127.0.0.1:0"},
		"bad token file":        {Dir: dir, Listen: "127.0.0.1:0", TokenFile: filepath.Join(dir, "missing")},
		"bad policy file":       {Dir: dir, Listen: "127.0.0.1:0", MTLS: true, PolicyFile: filepath.Join(dir, "missing")},
		"bad listen":            {Dir: dir, Listen: "nope", MTLS: true},
	} {
		if err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%s: Run started", name)
		}
	}
}

func TestEnsureFilesReusesAndDetectsDrift(t *testing.T) {
	dir := t.TempDir()
	f1, err := EnsureFiles(dir, "0.0.0.0:8112", []string{"ca.example.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	f2, err := EnsureFiles(dir, "0.0.0.0:8112", []string{"ca.example.com"}, pki.RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f1.CA.Cert.Raw, f2.CA.Cert.Raw) || !bytes.Equal(f1.Serving.Cert.Raw, f2.Serving.Cert.Raw) {
		t.Fatal("second start regenerated files")
	}
	for _, want := range []string{"localhost", "ca.example.com"} {
		if !strings.Contains(strings.Join(f1.Serving.Cert.DNSNames, ","), want) {
			t.Errorf("serving certificate lacks %s: %v", want, f1.Serving.Cert.DNSNames)
		}
	}
	if _, err := EnsureFiles(dir, "0.0.0.0:8112", []string{"other.example.com"}, ""); err == nil ||
		!strings.Contains(err.Error(), "server.crt") {
		t.Fatalf("changed --hosts: %v", err)
	}
}

func TestCAKeyPassword(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Dir: dir, Listen: "127.0.0.1:0", MTLS: true, CAKeyPasswordFile: pw,
			Ready: func(net.Addr) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "ca.key"))
	if !strings.HasPrefix(string(data), "-----BEGIN ENCRYPTED PRIVATE KEY-----") {
		t.Fatalf("ca.key is not encrypted:\n%s", data)
	}
	if _, err := pki.ParseKeyPEMWithPassword(data, []byte("correct horse battery staple")); err != nil {
		t.Fatal(err)
	}
	// A restart needs the password; the wrong one is refused.
	err := Run(context.Background(), Config{Dir: dir, Listen: "127.0.0.1:0", MTLS: true})
	if err == nil || !strings.Contains(err.Error(), "--ca-key-password-file") {
		t.Fatalf("restart without password: %v", err)
	}
	os.WriteFile(pw, []byte("wrong\n"), 0o600)
	if err := Run(context.Background(), Config{Dir: dir, Listen: "127.0.0.1:0", MTLS: true, CAKeyPasswordFile: pw}); err == nil ||
		!strings.Contains(err.Error(), "wrong password") {
		t.Fatalf("restart with a wrong password: %v", err)
	}
}

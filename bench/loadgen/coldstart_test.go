package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// helperEnv, when set in the environment, turns the test binary into a tiny
// HTTPS server standing in for kastle: it serves /readyz with client-cert
// authentication and writes admin.conf into the directory named by the
// variable, as `kastle server` does on first start.
const helperEnv = "LOADGEN_TEST_SERVER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		if err := helperServer(dir); err != nil {
			fmt.Fprintln(os.Stderr, "helper server:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helperServer listens on a free loopback port with the certificates in dir,
// answers /readyz 503 for its first 50 ms of serving and 200 after, and
// writes dir/admin.conf atomically once listening.
func helperServer(dir string) error {
	read := func(name string) []byte { b, _ := os.ReadFile(filepath.Join(dir, name)); return b }
	cert, err := tls.X509KeyPair(read("server.crt"), read("server.key"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(read("ca.crt"))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	})
	if err != nil {
		return err
	}
	readyAt := time.Now().Add(50 * time.Millisecond)
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if time.Now().Before(readyAt) {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://" + ln.Addr().String(), CertificateAuthorityData: read("ca.crt")}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: read("client.crt"), ClientKeyData: read("client.key")}
	kc.Contexts["admin"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "admin"}
	kc.CurrentContext = "admin"
	tmp := filepath.Join(dir, "admin.conf.tmp")
	if err := clientcmd.WriteToFile(*kc, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "admin.conf")); err != nil {
		return err
	}
	return http.Serve(ln, mux)
}

// writeTestPKI makes a CA, a serving certificate for 127.0.0.1 and an admin
// client certificate, and writes them as PEM files into dir.
func writeTestPKI(t *testing.T, dir string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loadgen-test-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write("ca.crt", "CERTIFICATE", caDER)
	issue := func(name string, serial int64, tmpl *x509.Certificate) {
		k := newKey()
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(serial), now.Add(-time.Hour), now.Add(time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		write(name+".crt", "CERTIFICATE", der)
		write(name+".key", "EC PRIVATE KEY", kder)
	}
	issue("server", 2, &x509.Certificate{Subject: pkix.Name{CommonName: "kastle"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	issue("client", 3, &x509.Certificate{Subject: pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
}

func TestColdstart(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cmd     func(dir string) string
		timeout time.Duration
		wantErr string
	}{
		{
			name: "server writes its kubeconfig and becomes ready",
			cmd:  func(dir string) string { return fmt.Sprintf("%s=%s exec %s", helperEnv, dir, exe) },
		},
		{
			name:    "server exits before ready",
			cmd:     func(string) string { return "exit 3" },
			wantErr: "exited before ready",
		},
		{
			name:    "server never writes a kubeconfig",
			cmd:     func(string) string { return "exec sleep 30" },
			timeout: 300 * time.Millisecond,
			wantErr: "not ready after",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTestPKI(t, dir)
			cfg := config{
				Mode: modeColdstart, Cmd: tt.cmd(dir), Kubeconfig: filepath.Join(dir, "admin.conf"),
				ReadyTimeout: 30 * time.Second,
			}
			if tt.timeout > 0 {
				cfg.ReadyTimeout = tt.timeout
			}
			var log strings.Builder
			rep, err := coldstart(context.Background(), cfg, &log)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("coldstart error = %v, want it to contain %q; log:\n%s", err, tt.wantErr, log.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("coldstart: %v; log:\n%s", err, log.String())
			}
			c := rep.Coldstart
			if c == nil || c.ReadySeconds <= 0 || c.KubeconfigSeconds <= 0 || c.KubeconfigSeconds > c.ReadySeconds ||
				c.ReadyPolls < 2 || c.RSSReadyKiB <= 0 || c.PID <= 0 {
				t.Fatalf("coldstart result = %+v", c)
			}
			// The server's process group must be gone after coldstart returns.
			if err := syscall.Kill(-c.PID, 0); err == nil {
				t.Errorf("process group %d still alive after coldstart", c.PID)
			}
		})
	}
}

// TestProbeReadyRejectsWrongCA checks that the probe verifies the server
// against the kubeconfig's CA instead of accepting any certificate.
func TestProbeReadyRejectsWrongCA(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeTestPKI(t, dir)
	srv, err := startServer(fmt.Sprintf("%s=%s exec %s", helperEnv, dir, exe), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	kubeconfig := filepath.Join(dir, "admin.conf")
	if _, err := waitReady(context.Background(), srv, kubeconfig, time.Now(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	writeTestPKI(t, other) // a different CA
	otherCA, err := os.ReadFile(filepath.Join(other, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	kc.Clusters["c"].CertificateAuthorityData = otherCA
	bad := filepath.Join(dir, "wrong-ca.conf")
	if err := clientcmd.WriteToFile(*kc, bad); err != nil {
		t.Fatal(err)
	}
	ok, err := probeReady(context.Background(), bad)
	if ok || err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("probe with the wrong CA = %v, %v; want a certificate error", ok, err)
	}
}

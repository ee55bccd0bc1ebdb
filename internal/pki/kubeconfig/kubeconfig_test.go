package kubeconfig_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kastle-dev/kastle/internal/pki"
	"github.com/kastle-dev/kastle/internal/pki/kubeconfig"
)

const serverURL = "https://127.0.0.1:6443"

// serverPKI ensures a data dir's PKI or fails the test.
func serverPKI(t testing.TB, dataDir string) *pki.ServerPKI {
	t.Helper()
	sp, err := pki.EnsureServerPKI(pki.ServerPKIConfig{DataDir: dataDir, Hostname: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// ensureAdmin runs EnsureAdmin or fails the test.
func ensureAdmin(t testing.TB, dataDir, url string, ca *pki.CA) string {
	t.Helper()
	path, err := kubeconfig.EnsureAdmin(dataDir, url, ca, "")
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEnsureAdminCreates(t *testing.T) {
	dir := t.TempDir()
	sp := serverPKI(t, dir)
	path := ensureAdmin(t, dir, serverURL, sp.CA)
	if path != filepath.Join(dir, "admin.conf") {
		t.Errorf("path = %s", path)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode() != 0o600 {
		t.Fatalf("stat: %v %v", fi, err)
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "kubernetes-admin@kastle" {
		t.Errorf("current-context = %q", cfg.CurrentContext)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil || ctx.Cluster != "kastle" || ctx.AuthInfo != "kubernetes-admin" {
		t.Fatalf("context = %+v", ctx)
	}
	cluster := cfg.Clusters["kastle"]
	caFile, _ := os.ReadFile(sp.CAFile)
	if cluster.Server != serverURL || !bytes.Equal(cluster.CertificateAuthorityData, caFile) {
		t.Errorf("cluster = %s, CA data equal to ca.crt: %v", cluster.Server, bytes.Equal(cluster.CertificateAuthorityData, caFile))
	}

	// The client certificate verifies against ca.crt as read from disk.
	roots, err := pki.ParseCertsPEM(caFile)
	if err != nil {
		t.Fatal(err)
	}
	user := cfg.AuthInfos["kubernetes-admin"]
	certs, err := pki.ParseCertsPEM(user.ClientCertificateData)
	if err != nil {
		t.Fatal(err)
	}
	pool := (&pki.CA{Cert: roots[0]}).Pool()
	chains, err := pki.VerifyClientCert(certs, pool, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf := chains[0][0]
	if leaf.Subject.CommonName != "kubernetes-admin" || len(leaf.Subject.Organization) != 1 ||
		leaf.Subject.Organization[0] != "system:masters" {
		t.Errorf("subject = %v", leaf.Subject)
	}
	if _, err := tls.X509KeyPair(user.ClientCertificateData, user.ClientKeyData); err != nil {
		t.Errorf("embedded pair unusable: %v", err)
	}
	// client-go builds a working REST config from it.
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, nil).ClientConfig()
	if err != nil || rc.Host != serverURL || len(rc.CertData) == 0 {
		t.Fatalf("rest config: %+v %v", rc, err)
	}
}

func TestEnsureAdminExisting(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, path string, sp *pki.ServerPKI) // after a first EnsureAdmin
		url     string
		ca      func(sp *pki.ServerPKI) *pki.CA
		want    error // nil: success
		inError string
		check   func(t *testing.T, before, after []byte)
	}{
		{name: "reused as is", url: serverURL, check: func(t *testing.T, before, after []byte) {
			if !bytes.Equal(before, after) {
				t.Error("file rewritten")
			}
		}},
		{name: "new port rewrites only the server URL", url: "https://127.0.0.1:7443",
			check: func(t *testing.T, before, after []byte) {
				b, _ := clientcmd.Load(before)
				a, err := clientcmd.Load(after)
				if err != nil {
					t.Fatal(err)
				}
				if a.Clusters["kastle"].Server != "https://127.0.0.1:7443" {
					t.Errorf("server = %s", a.Clusters["kastle"].Server)
				}
				bu, au := b.AuthInfos["kubernetes-admin"], a.AuthInfos["kubernetes-admin"]
				if !bytes.Equal(bu.ClientCertificateData, au.ClientCertificateData) || !bytes.Equal(bu.ClientKeyData, au.ClientKeyData) {
					t.Error("credentials changed")
				}
			}},
		{name: "lost context is restored, extra entries kept", url: serverURL,
			setup: func(t *testing.T, path string, _ *pki.ServerPKI) {
				cfg, _ := clientcmd.LoadFromFile(path)
				delete(cfg.Contexts, "kubernetes-admin@kastle")
				cfg.CurrentContext = "mine"
				cfg.Contexts["mine"] = &clientcmdapi.Context{Cluster: "kastle", AuthInfo: "kubernetes-admin"}
				if err := clientcmd.WriteToFile(*cfg, path); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, _, after []byte) {
				a, _ := clientcmd.Load(after)
				if a.Contexts["mine"] == nil {
					t.Error("the operator's own context was dropped")
				}
				if a.CurrentContext != "kubernetes-admin@kastle" || a.Contexts["kubernetes-admin@kastle"] == nil {
					t.Errorf("contexts %v, current %q", a.Contexts, a.CurrentContext)
				}
			}},
		{name: "CA mismatch", url: serverURL, ca: func(*pki.ServerPKI) *pki.CA { return newCA(t) },
			want: pki.ErrNotSignedByCA, inError: "does not match the cluster CA"},
		{name: "corrupt file", url: serverURL, want: pki.ErrCorrupt,
			setup: func(t *testing.T, path string, _ *pki.ServerPKI) { os.WriteFile(path, []byte("{{{"), 0o600) }},
		{name: "client cert from another CA", url: serverURL, want: pki.ErrNotSignedByCA, inError: "kubernetes-admin",
			setup: func(t *testing.T, path string, sp *pki.ServerPKI) {
				cfg, _ := clientcmd.LoadFromFile(path)
				c, k, err := newCA(t).IssueClientCert("kubernetes-admin", []string{"system:masters"}, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				cfg.AuthInfos["kubernetes-admin"].ClientCertificateData = c
				cfg.AuthInfos["kubernetes-admin"].ClientKeyData = k
				clientcmd.WriteToFile(*cfg, path)
			}},
		{name: "wrong group", url: serverURL, want: pki.ErrIdentityDrift, inError: "organization",
			setup: func(t *testing.T, path string, sp *pki.ServerPKI) {
				cfg, _ := clientcmd.LoadFromFile(path)
				c, k, _ := sp.CA.IssueClientCert("kubernetes-admin", []string{"dev"}, time.Hour)
				cfg.AuthInfos["kubernetes-admin"].ClientCertificateData = c
				cfg.AuthInfos["kubernetes-admin"].ClientKeyData = k
				clientcmd.WriteToFile(*cfg, path)
			}},
		{name: "key swapped", url: serverURL, want: pki.ErrKeyMismatch,
			setup: func(t *testing.T, path string, sp *pki.ServerPKI) {
				cfg, _ := clientcmd.LoadFromFile(path)
				_, k, _ := sp.CA.IssueClientCert("kubernetes-admin", []string{"system:masters"}, time.Hour)
				cfg.AuthInfos["kubernetes-admin"].ClientKeyData = k
				clientcmd.WriteToFile(*cfg, path)
			}},
		{name: "credentials as file paths", url: serverURL, want: pki.ErrIdentityDrift, inError: "embedded",
			setup: func(t *testing.T, path string, sp *pki.ServerPKI) {
				cfg, _ := clientcmd.LoadFromFile(path)
				u := cfg.AuthInfos["kubernetes-admin"]
				u.ClientCertificateData, u.ClientKeyData = nil, nil
				u.ClientCertificate, u.ClientKey = "/x.crt", "/x.key"
				clientcmd.WriteToFile(*cfg, path)
			}},
		{name: "expired client certificate without the CA key", url: serverURL, want: pki.ErrExpired,
			ca: func(sp *pki.ServerPKI) *pki.CA {
				return &pki.CA{Cert: sp.CA.Cert, Now: func() time.Time { return time.Now().AddDate(2, 0, 0) }}
			}},
		{name: "expired client certificate is reissued", url: serverURL,
			ca: func(sp *pki.ServerPKI) *pki.CA {
				return &pki.CA{Cert: sp.CA.Cert, Key: sp.CA.Key, Now: func() time.Time { return time.Now().AddDate(2, 0, 0) }}
			},
			check: func(t *testing.T, before, after []byte) {
				if bytes.Equal(before, after) {
					t.Error("an expired kubeconfig was not reissued")
				}
			}},
		{name: "external CA mode reuses a valid file", url: "https://127.0.0.1:7443",
			ca: func(sp *pki.ServerPKI) *pki.CA { return &pki.CA{Cert: sp.CA.Cert} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sp := serverPKI(t, dir)
			path := ensureAdmin(t, dir, serverURL, sp.CA)
			if tt.setup != nil {
				tt.setup(t, path, sp)
			}
			before, _ := os.ReadFile(path)
			ca := sp.CA
			if tt.ca != nil {
				ca = tt.ca(sp)
			}
			_, err := kubeconfig.EnsureAdmin(dir, tt.url, ca, "")
			after, _ := os.ReadFile(path)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.check != nil {
					tt.check(t, before, after)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.inError) {
				t.Errorf("error %q does not name %s and %q", err, path, tt.inError)
			}
			if !bytes.Equal(before, after) {
				t.Error("a failed ensure changed the file")
			}
		})
	}
}

func TestEnsureAdminExternalCAMissing(t *testing.T) {
	dir := t.TempDir()
	sp := serverPKI(t, dir)
	_, err := kubeconfig.EnsureAdmin(dir, serverURL, &pki.CA{Cert: sp.CA.Cert}, "")
	if !errors.Is(err, pki.ErrExternalCA) || !strings.Contains(err.Error(), "admin.conf") {
		t.Fatalf("error = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "admin.conf")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("admin.conf created without a CA key")
	}
}

// TestKubectlUsesAdminConf points the real kubectl at an mTLS server using
// only admin.conf: server verification via the embedded CA and client
// authentication via the embedded certificate.
func TestKubectlUsesAdminConf(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed")
	}
	dir := t.TempDir()
	sp := serverPKI(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := pki.VerifyClientCert(r.TLS.PeerCertificates, sp.ClientCAPool, time.Now()); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			c := r.TLS.PeerCertificates[0]
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"user":%q,"groups":%q,"path":%q}`, c.Subject.CommonName, c.Subject.Organization, r.URL.Path)
		}),
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{sp.ServingCert},
			ClientCAs: sp.ClientCAPool, ClientAuth: tls.VerifyClientCertIfGiven},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })

	path := ensureAdmin(t, dir, "https://"+ln.Addr().String(), sp.CA)
	cmd := exec.Command("kubectl", "--kubeconfig", path, "get", "--raw", "/version", "--request-timeout", "20s")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl: %v\n%s", err, out)
	}
	if want := `{"user":"kubernetes-admin","groups":["system:masters"],"path":"/version"}`; strings.TrimSpace(string(out)) != want {
		t.Errorf("kubectl output %s, want %s", out, want)
	}
}

// newCA makes a throwaway CA or fails the test.
func newCA(t testing.TB) *pki.CA {
	t.Helper()
	ca, err := pki.NewSelfSignedCA("kubernetes", pki.ECDSAP256, pki.CAValidity)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

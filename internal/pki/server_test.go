package pki_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// serverConfig is a deterministic configuration for dataDir.
func serverConfig(dataDir string) pki.ServerPKIConfig {
	return pki.ServerPKIConfig{DataDir: dataDir, BindAddress: "127.0.0.1", Hostname: "node-1"}
}

// mustEnsure runs EnsureServerPKI or fails the test.
func mustEnsure(t testing.TB, cfg pki.ServerPKIConfig) *pki.ServerPKI {
	t.Helper()
	sp, err := pki.EnsureServerPKI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// snapshot reads every regular file under dir.
func snapshot(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		files[p] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// writeFile replaces a file for a test scenario.
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// removeFiles deletes files for a test scenario.
func removeFiles(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// mustKey makes a P-256 key or fails the test.
func mustKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// encodeKey encodes key as PEM or fails the test.
func encodeKey(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	data, err := pki.EncodeKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEnsureServerPKI(t *testing.T) {
	type env struct {
		dir, pki                     string
		caCrt, caKey, apiCrt, apiKey string
	}
	prime := func(t *testing.T, e env) { mustEnsure(t, serverConfig(e.dir)) }
	tests := []struct {
		name    string
		setup   func(t *testing.T, e env)
		cfg     func(c *pki.ServerPKIConfig)
		want    error    // nil: success
		inError []string // substrings of the error; "%s" files are filled from env
		check   func(t *testing.T, e env, sp *pki.ServerPKI, before map[string][]byte)
	}{
		{name: "first start creates everything",
			check: func(t *testing.T, e env, sp *pki.ServerPKI, _ map[string][]byte) {
				wantModes := map[string]fs.FileMode{e.dir: 0o700 | fs.ModeDir, e.pki: 0o700 | fs.ModeDir,
					e.caCrt: 0o644, e.caKey: 0o600, e.apiCrt: 0o644, e.apiKey: 0o600}
				for p, want := range wantModes {
					fi, err := os.Stat(p)
					if err != nil {
						t.Fatal(err)
					}
					if fi.Mode() != want {
						t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
					}
				}
				if sp.CAFile != e.caCrt || sp.ServingCertFile != e.apiCrt || sp.ServingKeyFile != e.apiKey {
					t.Errorf("paths %s %s %s", sp.CAFile, sp.ServingCertFile, sp.ServingKeyFile)
				}
				if sp.CA.Key == nil || sp.CA.Cert.Subject.CommonName != "kubernetes" {
					t.Errorf("CA %v", sp.CA.Cert.Subject)
				}
				leaf := sp.ServingCert.Leaf
				if leaf.Subject.CommonName != "kube-apiserver" || !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
					t.Errorf("serving cert %v %v", leaf.Subject, leaf.ExtKeyUsage)
				}
				if err := leaf.VerifyHostname("kubernetes.default.svc.cluster.local"); err != nil {
					t.Error(err)
				}
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: sp.ClientCAPool, DNSName: "127.0.0.1"}); err != nil {
					t.Error(err)
				}
				if entries, _ := os.ReadDir(e.pki); len(entries) != 4 {
					t.Errorf("pki dir holds %d entries, want 4 (no temp files left)", len(entries))
				}
			}},
		{name: "second start reuses the same bytes", setup: prime,
			check: func(t *testing.T, e env, sp *pki.ServerPKI, before map[string][]byte) {
				if after := snapshot(t, e.dir); !maps.EqualFunc(before, after, bytes.Equal) {
					t.Error("files changed on second start")
				}
			}},
		{name: "RSA keys when asked", cfg: func(c *pki.ServerPKIConfig) { c.KeyAlgorithm = pki.RSA2048 },
			check: func(t *testing.T, e env, _ *pki.ServerPKI, _ map[string][]byte) {
				for _, p := range []string{e.caKey, e.apiKey} {
					if data, _ := os.ReadFile(p); !bytes.HasPrefix(data, []byte("-----BEGIN RSA PRIVATE KEY-----")) {
						t.Errorf("%s is not an RSA PRIVATE KEY", p)
					}
				}
			}},
		{name: "key algorithm is not identity: EC files reused under RSA", setup: prime,
			cfg: func(c *pki.ServerPKIConfig) { c.KeyAlgorithm = pki.RSA2048 },
			check: func(t *testing.T, e env, _ *pki.ServerPKI, before map[string][]byte) {
				if after := snapshot(t, e.dir); !maps.EqualFunc(before, after, bytes.Equal) {
					t.Error("files changed")
				}
			}},
		{name: "corrupt ca.crt", setup: func(t *testing.T, e env) { prime(t, e); writeFile(t, e.caCrt, []byte("garbage")) },
			want: pki.ErrCorrupt, inError: []string{"%ca.crt"}},
		{name: "truncated apiserver.crt", setup: func(t *testing.T, e env) {
			prime(t, e)
			data, _ := os.ReadFile(e.apiCrt)
			writeFile(t, e.apiCrt, data[:len(data)/2])
		}, want: pki.ErrCorrupt, inError: []string{"%apiserver.crt", "truncated"}},
		{name: "corrupt apiserver.key", setup: func(t *testing.T, e env) { prime(t, e); writeFile(t, e.apiKey, []byte("-----")) },
			want: pki.ErrCorrupt, inError: []string{"%apiserver.key"}},
		{name: "apiserver key does not match cert", setup: func(t *testing.T, e env) {
			prime(t, e)
			writeFile(t, e.apiKey, encodeKey(t, mustKey(t)))
		}, want: pki.ErrKeyMismatch, inError: []string{"%apiserver.crt", "%apiserver.key"}},
		{name: "ca key does not match cert", setup: func(t *testing.T, e env) {
			prime(t, e)
			writeFile(t, e.caKey, encodeKey(t, mustKey(t)))
		}, want: pki.ErrKeyMismatch, inError: []string{"%ca.crt", "%ca.key"}},
		{name: "apiserver cert from a foreign CA", setup: func(t *testing.T, e env) {
			prime(t, e)
			foreign := newCA(t, "kubernetes")
			certPEM, keyPEM, err := foreign.IssueClientCert("kube-apiserver", nil, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, e.apiCrt, certPEM)
			writeFile(t, e.apiKey, keyPEM)
		}, want: pki.ErrNotSignedByCA, inError: []string{"%apiserver.crt"}},
		{name: "CA replaced under existing apiserver cert", setup: func(t *testing.T, e env) {
			prime(t, e)
			foreign := newCA(t, "kubernetes")
			writeFile(t, e.caCrt, pki.EncodeCertPEM(foreign.Cert))
			writeFile(t, e.caKey, encodeKey(t, foreign.Key))
		}, want: pki.ErrNotSignedByCA, inError: []string{"%apiserver.crt"}},
		{name: "ca.crt is not a CA", setup: func(t *testing.T, e env) {
			ca := newCA(t, "x")
			certPEM, keyPEM, _ := ca.IssueClientCert("kubernetes", nil, time.Hour)
			os.MkdirAll(e.pki, 0o700)
			writeFile(t, e.caCrt, certPEM)
			writeFile(t, e.caKey, keyPEM)
		}, want: pki.ErrIdentityDrift, inError: []string{"%ca.crt", "not a CA"}},
		{name: "external CA without leaf certificates", setup: func(t *testing.T, e env) {
			prime(t, e)
			removeFiles(t, e.caKey, e.apiCrt, e.apiKey)
		}, want: pki.ErrExternalCA, inError: []string{"external CA mode", "%ca.key", "%apiserver.crt"}},
		{name: "external CA with valid leaf certificates", setup: func(t *testing.T, e env) {
			prime(t, e)
			removeFiles(t, e.caKey)
		}, check: func(t *testing.T, e env, sp *pki.ServerPKI, _ map[string][]byte) {
			if sp.CA.Key != nil {
				t.Error("CA key present in external CA mode")
			}
			if _, err := os.Stat(e.caKey); !errors.Is(err, fs.ErrNotExist) {
				t.Error("ca.key was created")
			}
		}},
		{name: "external CA with drifted leaf", setup: func(t *testing.T, e env) { prime(t, e); removeFiles(t, e.caKey) },
			cfg:  func(c *pki.ServerPKIConfig) { c.ExtraSANs = []string{"api.example.com"} },
			want: pki.ErrIdentityDrift, inError: []string{"%apiserver.crt", "DNS:api.example.com"}},
		{name: "extra SAN added is drift", setup: prime,
			cfg:  func(c *pki.ServerPKIConfig) { c.ExtraSANs = []string{"api.example.com", "10.0.0.7"} },
			want: pki.ErrIdentityDrift, inError: []string{"%apiserver.crt", "DNS:api.example.com", "IP:10.0.0.7", "remove"}},
		{name: "bind address changed is drift", setup: prime,
			cfg:  func(c *pki.ServerPKIConfig) { c.BindAddress = "::1" },
			want: pki.ErrIdentityDrift, inError: []string{"IP:::1"}},
		{name: "hostname changed is drift", setup: prime,
			cfg:  func(c *pki.ServerPKIConfig) { c.Hostname = "node-2" },
			want: pki.ErrIdentityDrift, inError: []string{"DNS:node-2"}},
		{name: "fewer SANs requested reuses", setup: func(t *testing.T, e env) {
			c := serverConfig(e.dir)
			c.ExtraSANs = []string{"api.example.com"}
			mustEnsure(t, c)
		}},
		{name: "expired apiserver certificate is reissued for its key", setup: func(t *testing.T, e env) {
			c := serverConfig(e.dir)
			c.Now = func() time.Time { return time.Now().AddDate(-2, 0, 0) }
			mustEnsure(t, c)
		}, check: func(t *testing.T, e env, sp *pki.ServerPKI, before map[string][]byte) {
			if !sp.Serving.Cert.NotAfter.After(time.Now()) {
				t.Errorf("still expired: %v", sp.Serving.Cert.NotAfter)
			}
			if after, _ := os.ReadFile(e.apiKey); !bytes.Equal(after, before[e.apiKey]) {
				t.Errorf("the key changed")
			}
		}},
		{name: "certificate without its key", setup: func(t *testing.T, e env) { prime(t, e); removeFiles(t, e.apiKey) },
			want: pki.ErrMissing, inError: []string{"%apiserver.key"}},
		{name: "key without its certificate is reused", setup: func(t *testing.T, e env) { prime(t, e); removeFiles(t, e.apiCrt) },
			check: func(t *testing.T, e env, sp *pki.ServerPKI, before map[string][]byte) {
				if after, _ := os.ReadFile(e.apiKey); !bytes.Equal(after, before[e.apiKey]) {
					t.Error("apiserver.key was replaced")
				}
			}},
		{name: "CA key without its certificate is reused", setup: func(t *testing.T, e env) { prime(t, e); removeFiles(t, e.caCrt) },
			check: func(t *testing.T, e env, sp *pki.ServerPKI, before map[string][]byte) {
				if after, _ := os.ReadFile(e.caKey); !bytes.Equal(after, before[e.caKey]) {
					t.Error("ca.key was replaced")
				}
			}},
		{name: "bind address must be an IP", cfg: func(c *pki.ServerPKIConfig) { c.BindAddress = "example.com" },
			inError: []string{"not an IP"}, want: errAny},
		{name: "bad extra SAN", cfg: func(c *pki.ServerPKIConfig) { c.ExtraSANs = []string{"a b"} },
			inError: []string{"a b"}, want: errAny},
		{name: "unknown key algorithm", cfg: func(c *pki.ServerPKIConfig) { c.KeyAlgorithm = "DSA-1024" },
			inError: []string{"DSA-1024"}, want: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			p := filepath.Join(dir, "pki")
			e := env{dir: dir, pki: p, caCrt: filepath.Join(p, "ca.crt"), caKey: filepath.Join(p, "ca.key"),
				apiCrt: filepath.Join(p, "apiserver.crt"), apiKey: filepath.Join(p, "apiserver.key")}
			if tt.setup != nil {
				tt.setup(t, e)
			}
			var before map[string][]byte
			if _, err := os.Stat(dir); err == nil {
				before = snapshot(t, dir)
			}
			cfg := serverConfig(dir)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			sp, err := pki.EnsureServerPKI(cfg)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.check != nil {
					tt.check(t, e, sp, before)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error, got none")
			}
			if tt.want != errAny && !errors.Is(err, tt.want) {
				t.Errorf("error %v is not %v", err, tt.want)
			}
			for _, s := range tt.inError {
				if f, ok := strings.CutPrefix(s, "%"); ok {
					s = filepath.Join(p, f)
				}
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if before != nil {
				if after := snapshot(t, dir); !maps.EqualFunc(before, after, bytes.Equal) {
					t.Error("a failed start changed files; it must never overwrite")
				}
			}
		})
	}
}

// errAny marks cases that only need some error.
var errAny = errors.New("any error")

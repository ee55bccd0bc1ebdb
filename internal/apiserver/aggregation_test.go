package apiserver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kastle-dev/kastle/internal/pki"
)

func TestEnsureFrontProxy(t *testing.T) {
	dir := t.TempDir()
	p, err := pki.EnsureServerPKI(pki.ServerPKIConfig{DataDir: dir, BindAddress: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "own-ca.crt")
	if err := os.WriteFile(own, pki.EncodeCertPEM(p.CA.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		cfg         Config
		wantCA      string
		wantCert    string
		wantAllowed []string
		wantUser    []string
		wantErr     bool
	}{
		{name: "defaults: the PKI's front proxy pair", wantCA: filepath.Join(p.Dir, "front-proxy-ca.crt"),
			wantCert: filepath.Join(p.Dir, "front-proxy-client.crt"), wantAllowed: []string{"front-proxy-client"}, wantUser: []string{"X-Remote-User"}},
		{name: "own CA: any name unless listed", cfg: Config{RequestHeaderClientCAFile: own, RequestHeaderUsernameHeaders: []string{"X-User", "X-Remote-User"}},
			wantCA: own, wantCert: filepath.Join(p.Dir, "front-proxy-client.crt"), wantUser: []string{"X-User", "X-Remote-User"}},
		{name: "own CA and names", cfg: Config{RequestHeaderClientCAFile: own, RequestHeaderAllowedNames: []string{"aggregator"}},
			wantCA: own, wantCert: filepath.Join(p.Dir, "front-proxy-client.crt"), wantAllowed: []string{"aggregator"}, wantUser: []string{"X-Remote-User"}},
		{name: "cert without key", cfg: Config{ProxyClientCertFile: "/x.crt"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fp, err := ensureFrontProxy(tc.cfg, p)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if err != nil {
				return
			}
			if fp.caFile != tc.wantCA || fp.certFile != tc.wantCert || !slices.Equal(fp.allowedNames, tc.wantAllowed) || !slices.Equal(fp.username, tc.wantUser) {
				t.Errorf("got %+v", fp)
			}
			for _, f := range []string{fp.caFile, fp.certFile, fp.keyFile} {
				if _, err := os.Stat(f); err != nil {
					t.Error(err)
				}
			}
			if st, err := os.Stat(fp.keyFile); err == nil && st.Mode().Perm() != 0o600 {
				t.Errorf("key mode %v", st.Mode())
			}
			data, err := extensionAuthData([]byte("client-ca"), []byte("rh-ca"), fp)
			if err != nil {
				t.Fatal(err)
			}
			var names, users []string
			if json.Unmarshal([]byte(data["requestheader-allowed-names"]), &names) != nil || json.Unmarshal([]byte(data["requestheader-username-headers"]), &users) != nil {
				t.Fatalf("not JSON lists: %v", data)
			}
			if data["client-ca-file"] != "client-ca" || data["requestheader-client-ca-file"] != "rh-ca" || !slices.Equal(users, tc.wantUser) ||
				len(names) != len(tc.wantAllowed) || data["requestheader-extra-headers-prefix"] != `["X-Remote-Extra-"]` {
				t.Errorf("configmap data %v", data)
			}
		})
	}
}

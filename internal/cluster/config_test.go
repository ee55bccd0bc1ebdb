package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/apiserver"
)

func TestInitConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "init.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := `apiVersion: kastle.io/v1alpha1
kind: InitConfiguration
dataDir: /var/lib/kastle
nodeName: cp1
controlPlaneEndpoint: 127.0.0.2:6443
securePort: 7443
apiServerCertSANs: [api.example.com]
certificateValidityPeriod: 2160h
bootstrapToken: {token: abcdef.0123456789abcdef, ttl: 2h}
uploadCerts: true
etcd: {servers: ["https://127.0.0.1:2379"], caFile: /e/ca.crt, prefix: /kastle}
`
	f, err := LoadInitConfigFile(write(good))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &InitConfig{Server: apiserver.DefaultConfig()}
	given := map[string]bool{"node-name": true}
	cfg.NodeName = "from-flag"
	if err := f.Apply(cfg, func(flag string) bool { return given[flag] }); err != nil {
		t.Fatal(err)
	}
	if cfg.NodeName != "from-flag" {
		t.Errorf("the file overrode a flag given: %q", cfg.NodeName)
	}
	if cfg.Server.DataDir != "/var/lib/kastle" || cfg.Server.SecurePort != 7443 || cfg.ControlPlaneEndpoint != "127.0.0.2:6443" ||
		cfg.Server.CertificateValidity != 2160*time.Hour || cfg.Token != "abcdef.0123456789abcdef" || cfg.TokenTTL != 2*time.Hour ||
		!cfg.UploadCerts || cfg.Server.EtcdServers[0] != "https://127.0.0.1:2379" || cfg.Server.EtcdCAFile != "/e/ca.crt" ||
		cfg.Server.EtcdPrefix != "/kastle" || cfg.Server.ExtraSANs[0] != "api.example.com" {
		t.Errorf("applied %+v", cfg)
	}
	for name, tc := range map[string]struct{ body, want string }{
		"unknown field": {strings.Replace(good, "nodeName:", "nodeNmae:", 1), "unknown field"},
		"other kind":    {strings.Replace(good, "kind: InitConfiguration", "kind: JoinConfiguration", 1), "want kastle.io/v1alpha1 InitConfiguration"},
		"bad duration":  {strings.Replace(good, "2160h", "forever", 1), "forever"},
		"bad port":      {strings.Replace(good, "7443", "70000", 1), "not a port"},
	} {
		if _, err := LoadInitConfigFile(write(tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kastle-dev/kastle/internal/pki"
)

// TestLoadIdentity: a valid kubelet.conf is used; missing, unreadable or
// expired ones call for bootstrap; another node's identity is an error.
func TestLoadIdentity(t *testing.T) {
	ca := testCA(t)
	dir := t.TempDir()
	cfg := &Config{DataDir: dir, NodeName: "n1"}
	if err := cfg.Complete(os.Hostname); err != nil {
		t.Fatal(err)
	}
	store := &certStore{dir: cfg.PKIDir(), prefix: ClientCertPrefix, now: time.Now}
	conn := connection{server: "https://127.0.0.1:6443", caPEM: pki.EncodeCertPEM(ca.Cert)}
	now := time.Now()

	if _, _, err := loadIdentity(cfg, now); !errors.Is(err, errNeedBootstrap) {
		t.Fatalf("missing kubelet.conf: %v", err)
	}
	c, k := issuePEM(t, ca, clientSpec("system:node:n1", "system:nodes"), now)
	if _, err := store.Write(c, k); err != nil {
		t.Fatal(err)
	}
	if err := writeKubeconfig(cfg.Kubeconfig, conn, store.CurrentPath()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(cfg.Kubeconfig); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("kubelet.conf mode %v %v", fi.Mode(), err)
	}
	kc, err := clientcmd.LoadFromFile(cfg.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	user := kc.AuthInfos[kc.Contexts[kc.CurrentContext].AuthInfo]
	if user.ClientCertificate != store.CurrentPath() || user.ClientKey != store.CurrentPath() || len(user.ClientKeyData) != 0 {
		t.Errorf("kubelet.conf user %+v", user)
	}
	got, pair, err := loadIdentity(cfg, now)
	if err != nil || got.server != conn.server || pair.Leaf.Subject.CommonName != "system:node:n1" {
		t.Fatalf("valid kubelet.conf: %v %+v", err, got)
	}
	// Expired: bootstrap again rather than fail.
	if _, _, err := loadIdentity(cfg, now.Add(time.Hour)); !errors.Is(err, errNeedBootstrap) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired certificate: %v", err)
	}
	// Another node's data dir.
	other := *cfg
	other.NodeName = "n2"
	if _, _, err := loadIdentity(&other, now); err == nil || errors.Is(err, errNeedBootstrap) || !strings.Contains(err.Error(), `"system:node:n1"`) {
		t.Errorf("identity drift: %v", err)
	}
	// Unreadable certificate file.
	if err := os.WriteFile(filepath.Join(cfg.PKIDir(), "junk.pem"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(store.CurrentPath()); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("junk.pem", store.CurrentPath()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadIdentity(cfg, now); !errors.Is(err, errNeedBootstrap) {
		t.Errorf("corrupt certificate: %v", err)
	}
	// A kubeconfig without a CA is refused: the agent never trusts blindly.
	if err := writeKubeconfig(cfg.Kubeconfig, connection{server: "https://x"}, store.CurrentPath()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadConnection(cfg.Kubeconfig); err == nil || !strings.Contains(err.Error(), "no certificate-authority-data") {
		t.Errorf("no CA: %v", err)
	}
}

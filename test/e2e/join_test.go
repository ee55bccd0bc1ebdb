package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/pki"
)

// TestJoinDiscovery: `kastle join` discovers the cluster with a token and
// a CA pin, refusing with its own message a wrong pin, a wrong token
// secret and an unknown (or expired) token, and writes a working
// bootstrap-kubelet.conf.
func TestJoinDiscovery(t *testing.T) {
	t.Parallel()
	s := env.shared
	ctx := context.Background()
	admin := s.clientset(t)
	caPEM, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	// cluster-info as `kastle init` publishes it.
	kc := clientcmdConfig(s.url, caPEM)
	if _, err := admin.CoreV1().ConfigMaps("kube-public").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cluster-info"},
		Data: map[string]string{"kubeconfig": kc}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tok, _ := bootstraptoken.Generate()
	sec, err := bootstraptoken.Info{Token: tok, Expiration: time.Now().Add(time.Hour),
		Usages: []string{bootstraptoken.UsageSigning, bootstraptoken.UsageAuthentication}, ExtraGroups: []string{"system:bootstrappers:e2e"}}.Secret()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Secrets("kube-system").Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.CoreV1().Secrets("kube-system").Delete(ctx, sec.Name, metav1.DeleteOptions{}) })
	certs, _ := pki.ParseCertsPEM(caPEM)
	sum := sha256.Sum256(certs[0].RawSubjectPublicKeyInfo)
	pin := "sha256:" + hex.EncodeToString(sum[:])
	endpoint := strings.TrimPrefix(s.url, "https://")
	join := func(token, hash string, extra ...string) (result, string) {
		dir := filepath.Join(t.TempDir(), "node")
		args := append([]string{"join", endpoint, "--token", token, "--data-dir", dir, "--skip-phases", "kubelet-start", "--discovery-timeout", "5s"}, extra...)
		if hash != "" {
			args = append(args, "--discovery-token-ca-cert-hash", hash)
		}
		return kastleCmd(t, args...), dir
	}
	// The signer publishes the token's signature shortly.
	eventually(t, 10*time.Second, func() string {
		if r, _ := join(tok.String(), pin); r.code != 0 {
			return r.String()
		}
		return ""
	})
	r, dir := join(tok.String(), pin)
	mustContain(t, r.stdout, "[discovery]", "is pinned", "[kubelet-start] Writing the bootstrap kubeconfig")
	cfg, err := clientcmd.LoadFromFile(filepath.Join(dir, "bootstrap-kubelet.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Clusters {
		if c.Server != s.url || string(c.CertificateAuthorityData) != string(caPEM) {
			t.Errorf("bootstrap cluster %s", c.Server)
		}
	}
	// The written kubeconfig authenticates as the bootstrapper.
	who := run(t, runOpts{}, env.kubectl, "--kubeconfig", filepath.Join(dir, "bootstrap-kubelet.conf"), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if who.code != 0 || who.stdout != "system:bootstrap:"+tok.ID {
		t.Errorf("whoami with bootstrap-kubelet.conf: %s", who)
	}

	wrongPin := "sha256:" + strings.Repeat("ab", 32)
	r, _ = join(tok.String(), wrongPin)
	if r.code == 0 || !strings.Contains(r.stderr, "not pinned") || !strings.Contains(r.stderr, pin) {
		t.Errorf("wrong CA hash: %s", r)
	}
	r, _ = join(tok.ID+".ffffffffffffffff", pin)
	if r.code == 0 || !strings.Contains(r.stderr, "failed to verify the JWS signature") {
		t.Errorf("wrong token secret: %s", r)
	}
	unknown, _ := bootstraptoken.Generate()
	r, _ = join(unknown.String(), pin)
	if r.code == 0 || !strings.Contains(r.stderr, "no JWS signed token") || !strings.Contains(r.stderr, unknown.ID) {
		t.Errorf("unknown token: %s", r)
	}
	r, _ = join(tok.String(), "")
	if r.code == 0 || !strings.Contains(r.stderr, "--discovery-token-ca-cert-hash") {
		t.Errorf("no pin: %s", r)
	}
	if r, _ = join(tok.String(), "", "--discovery-token-unsafe-skip-ca-verification"); r.code != 0 {
		t.Errorf("unsafe skip: %s", r)
	}
	// An expired token loses its signature.
	exp, _ := bootstraptoken.Generate()
	esec, _ := bootstraptoken.Info{Token: exp, Expiration: time.Now().Add(2 * time.Second), Usages: []string{bootstraptoken.UsageSigning}}.Secret()
	if _, err := admin.CoreV1().Secrets("kube-system").Create(ctx, esec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	eventually(t, 10*time.Second, func() string {
		if r, _ := join(exp.String(), pin); r.code == 0 || !strings.Contains(r.stderr, "expired") {
			return "expired token: " + r.String()
		}
		return ""
	})
}

// clientcmdConfig is cluster-info's kubeconfig: a cluster with server and
// CA, nothing else.
func clientcmdConfig(server string, caPEM []byte) string {
	return "apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n    server: " + server +
		"\n    certificate-authority-data: " + b64(caPEM) + "\ncontexts: []\nusers: []\n"
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

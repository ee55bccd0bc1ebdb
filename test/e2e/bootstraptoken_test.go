package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/bootstraptoken"
)

// TestBootstrapSignerAndTokenCleaner: the bootstrap signer keeps one
// verifiable jws-kubeconfig-<id> in cluster-info per valid signing token
// (re-signed when the kubeconfig changes, dropped when the token expires),
// anonymous users can read cluster-info, and the token cleaner deletes the
// expired token's Secret.
func TestBootstrapSignerAndTokenCleaner(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"))
	ctx := context.Background()
	admin := s.clientset(t)
	kubeconfig := "apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n    server: " + s.url + "\n"
	if _, err := admin.CoreV1().ConfigMaps("kube-public").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-info"}, Data: map[string]string{"kubeconfig": kubeconfig}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mk := func(usages []string, ttl time.Duration) bootstraptoken.Token {
		tok, err := bootstraptoken.Generate()
		if err != nil {
			t.Fatal(err)
		}
		info := bootstraptoken.Info{Token: tok, Usages: usages}
		if ttl > 0 {
			info.Expiration = time.Now().Add(ttl)
		}
		sec, err := info.Secret()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.CoreV1().Secrets("kube-system").Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	both := []string{bootstraptoken.UsageAuthentication, bootstraptoken.UsageSigning}
	long := mk(both, time.Hour)
	short := mk(both, 4*time.Second)
	authOnly := mk([]string{bootstraptoken.UsageAuthentication}, time.Hour)

	// Anonymous (no credentials, as a joining node) reads cluster-info.
	anonRead := func() map[string]string {
		t.Helper()
		r := curl(t, s, nil, "/api/v1/namespaces/kube-public/configmaps/cluster-info")
		if r.status != 200 {
			t.Fatalf("anonymous read of cluster-info: %d %s", r.status, r.body)
		}
		var cm corev1.ConfigMap
		if err := json.Unmarshal([]byte(r.body), &cm); err != nil {
			t.Fatal(err)
		}
		return cm.Data
	}
	check := func(content string, want, absent []bootstraptoken.Token) string {
		data := anonRead()
		for _, tok := range want {
			sig, ok := data["jws-kubeconfig-"+tok.ID]
			if !ok {
				return "no signature for " + tok.ID
			}
			if err := bootstraptoken.VerifyDetached(content, sig, tok); err != nil {
				return "signature for " + tok.ID + ": " + err.Error()
			}
		}
		for _, tok := range absent {
			if _, ok := data["jws-kubeconfig-"+tok.ID]; ok {
				return "unexpected signature for " + tok.ID
			}
		}
		return ""
	}
	eventually(t, 10*time.Second, func() string {
		return check(kubeconfig, []bootstraptoken.Token{long, short}, []bootstraptoken.Token{authOnly})
	})

	// A new kubeconfig is signed anew.
	cm, err := admin.CoreV1().ConfigMaps("kube-public").Get(ctx, "cluster-info", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig += "# rotated\n"
	cm.Data["kubeconfig"] = kubeconfig
	if _, err := admin.CoreV1().ConfigMaps("kube-public").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		return check(kubeconfig, []bootstraptoken.Token{long}, []bootstraptoken.Token{authOnly})
	})

	// The short token expires: its signature goes, and so does its Secret.
	eventually(t, 20*time.Second, func() string {
		if msg := check(kubeconfig, []bootstraptoken.Token{long}, []bootstraptoken.Token{short, authOnly}); msg != "" {
			return msg
		}
		_, err := admin.CoreV1().Secrets("kube-system").Get(ctx, "bootstrap-token-"+short.ID, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return "expired token secret still there"
		}
		return ""
	})
	if _, err := admin.CoreV1().Secrets("kube-system").Get(ctx, "bootstrap-token-"+long.ID, metav1.GetOptions{}); err != nil {
		t.Errorf("valid token secret: %v", err)
	}
}

// TestTokenCommands: kastle token generate/create/list/delete as kubeadm's,
// and a created token authenticates as a bootstrapper and signs
// cluster-info.
func TestTokenCommands(t *testing.T) {
	t.Parallel()
	s := env.shared
	gen := kastleCmd(t, "token", "generate")
	tok, err := bootstraptoken.Parse(strings.TrimSpace(gen.stdout))
	if gen.code != 0 || err != nil {
		t.Fatalf("token generate: %s %v", gen, err)
	}
	if r := kastleCmd(t, "token", "create", tok.String(), "--ttl", "1h", "--description", "e2e join", "--data-dir", s.dataDir); r.code != 0 || strings.TrimSpace(r.stdout) != tok.String() {
		t.Fatalf("token create: %s", r)
	}
	t.Cleanup(func() { kastleCmd(t, "token", "delete", tok.ID, "--data-dir", s.dataDir) })
	if r := kastleCmd(t, "token", "create", tok.String(), "--data-dir", s.dataDir); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("duplicate token: %s", r)
	}
	join := kastleCmd(t, "token", "create", "--print-join-command", "--ttl", "10m", "--data-dir", s.dataDir)
	if join.code != 0 {
		t.Fatalf("token create --print-join-command: %s", join)
	}
	f := strings.Fields(join.stdout)
	if len(f) != 7 || f[0] != "kastle" || f[1] != "join" || f[3] != "--token" || f[5] != "--discovery-token-ca-cert-hash" || !strings.HasPrefix(f[6], "sha256:") {
		t.Fatalf("join command %q", join.stdout)
	}
	if want := strings.TrimPrefix(s.url, "https://"); f[2] != want {
		t.Errorf("join endpoint %q, want %q", f[2], want)
	}
	joinTok, _ := bootstraptoken.Parse(f[4])
	t.Cleanup(func() { kastleCmd(t, "token", "delete", f[4], "--data-dir", s.dataDir) })
	// The pin is the CA's, as openssl computes it.
	ca := filepath.Join(s.dataDir, "pki", "ca.crt")
	pub := run(t, runOpts{}, env.openssl, "x509", "-in", ca, "-noout", "-pubkey")
	der := run(t, runOpts{stdin: pub.stdout}, env.openssl, "pkey", "-pubin", "-outform", "DER")
	sum := run(t, runOpts{stdin: der.stdout}, env.openssl, "dgst", "-sha256", "-hex")
	if !strings.Contains(sum.stdout, strings.TrimPrefix(f[6], "sha256:")) {
		t.Errorf("pin %s is not openssl's %s", f[6], sum.stdout)
	}
	list := kastleCmd(t, "token", "list", "--data-dir", s.dataDir)
	mustContain(t, list.stdout, "TOKEN", "TTL", "EXTRA GROUPS", tok.String(), "e2e join", "authentication,signing", DefaultTokenGroupForTest)
	// The token authenticates as a bootstrapper in its group.
	code, user, groups := whoami(t, tok.String())
	if code != 201 || user != "system:bootstrap:"+tok.ID || !strings.Contains(strings.Join(groups, ","), DefaultTokenGroupForTest) {
		t.Errorf("whoami with the token: %d %s %v", code, user, groups)
	}
	if r := kastleCmd(t, "token", "delete", tok.String(), "--data-dir", s.dataDir); r.code != 0 {
		t.Fatalf("token delete: %s", r)
	}
	// Successful tokens are remembered for 10 s, as in kube-apiserver.
	eventually(t, 20*time.Second, func() string {
		if code, _, _ := whoami(t, tok.String()); code != 401 {
			return fmt.Sprintf("deleted token: %d", code)
		}
		return ""
	})
	if !strings.Contains(kastleCmd(t, "token", "list", "--data-dir", s.dataDir).stdout, joinTok.String()) {
		t.Errorf("the join token is not listed")
	}
}

// DefaultTokenGroupForTest is kubeadm's node token group, as the CLI uses.
const DefaultTokenGroupForTest = "system:bootstrappers:kubeadm:default-node-token"

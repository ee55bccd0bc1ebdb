package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"

	"github.com/kastle-dev/kastle/internal/pki"
)

// kastleCmd runs the kastle binary and returns its result.
func kastleCmd(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, runOpts{}, env.kastle, args...)
}

// TestIssuanceRecordAndRevocation: every certificate the cluster CA
// signs is recorded (CSRs with requester and CSR name, the control
// plane's own, `kastle kubeconfig user`); `kastle certs list` shows them
// and `kastle certs revoke` makes the API server refuse the certificate
// on the next request.
func TestIssuanceRecordAndRevocation(t *testing.T) {
	t.Parallel()
	s := env.shared
	ctx := context.Background()
	admin := s.clientset(t)
	dir := t.TempDir()
	name := nsName(t.Name())
	t.Cleanup(func() { kubectl(t, "delete", "csr", name, "--ignore-not-found") })

	keyPEM, req := makeCSR(t, name, []string{"e2e-revokers"}, nil, nil)
	if err := createCSR(ctx, admin, name, "kubernetes.io/kube-apiserver-client", req, certificatesv1.UsageClientAuth); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "certificate", "approve", name)
	csr := waitCSR(t, admin, name, "issued", issued)
	certs, err := pki.ParseCertsPEM(csr.Status.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	serial := fmt.Sprintf("%x", certs[0].SerialNumber)
	files := adminFiles{cert: filepath.Join(dir, "u.crt"), key: filepath.Join(dir, "u.key"), ca: filepath.Join(s.dataDir, "pki", "ca.crt")}
	_ = os.WriteFile(files.cert, csr.Status.Certificate, 0o600)
	_ = os.WriteFile(files.key, keyPEM, 0o600)
	whoami := func() int {
		return curl(t, s, &files, "/apis/authentication.k8s.io/v1/selfsubjectreviews", "-X", "POST",
			"-H", "Content-Type: application/json", "-d", `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`).status
	}
	if c := whoami(); c != 201 {
		t.Fatalf("issued certificate: %d", c)
	}

	// The record: kubectl and kastle certs list.
	out := mustKubectl(t, "get", "issuedcertificates", serial)
	mustContain(t, out, "CN="+name, "kubernetes.io/kube-apiserver-client", "kubernetes-admin")
	list := kastleCmd(t, "certs", "list", "--data-dir", s.dataDir)
	if list.code != 0 {
		t.Fatalf("certs list: %s", list)
	}
	line := ""
	for _, l := range strings.Split(list.stdout, "\n") {
		if strings.HasPrefix(l, serial+" ") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("serial %s not listed:\n%s", serial, list.stdout)
	}
	mustContain(t, line, "CN="+name, "kubernetes-admin", name, "valid")
	// The control plane's own certificates are recorded too.
	mustContain(t, list.stdout, "CN=kube-apiserver", "CN=kubernetes-admin", "CN=system:kube-controller-manager")

	// Revoke by the serial as openssl prints it (colon-separated hex).
	var colons []string
	for i := 0; i < len(serial); i += 2 {
		colons = append(colons, strings.ToUpper(serial[i:min(i+2, len(serial))]))
	}
	if r := kastleCmd(t, "certs", "revoke", strings.Join(colons, ":"), "--reason", "keyCompromise", "--data-dir", s.dataDir); r.code != 0 {
		t.Fatalf("certs revoke: %s", r)
	}
	eventually(t, 5*time.Second, func() string {
		if c := whoami(); c != 401 {
			return fmt.Sprintf("revoked certificate still gets %d", c)
		}
		return ""
	})
	list = kastleCmd(t, "certs", "list", "--data-dir", s.dataDir)
	for _, l := range strings.Split(list.stdout, "\n") {
		if strings.HasPrefix(l, serial+" ") && !strings.HasSuffix(strings.TrimSpace(l), "revoked") {
			t.Errorf("listed as %q after revocation", l)
		}
	}
	out = mustKubectl(t, "get", "issuedcertificate", serial, "-o", "jsonpath={.spec.revocation.reason}/{.spec.revocation.revokedBy}")
	if out != "keyCompromise/kubernetes-admin" {
		t.Errorf("revocation recorded as %q", out)
	}

	// kastle kubeconfig user: a working kubeconfig, recorded and revocable.
	kc := kastleCmd(t, "kubeconfig", "user", "--client-name", name+"-kc", "--org", "e2e-kc-group", "--data-dir", s.dataDir, "--validity-period", "2h")
	if kc.code != 0 {
		t.Fatalf("kubeconfig user: %s", kc)
	}
	kcPath := writeFile(t, "user.conf", kc.stdout, 0o600)
	who := run(t, runOpts{}, env.kubectl, "--kubeconfig", kcPath, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
	if who.code != 0 || !strings.Contains(who.stdout, name+"-kc") || !strings.Contains(who.stdout, "e2e-kc-group") {
		t.Fatalf("kubectl with the user kubeconfig: %s", who)
	}
	var kcSerial string
	for _, l := range strings.Split(kastleCmd(t, "certs", "list", "--data-dir", s.dataDir).stdout, "\n") {
		if strings.Contains(l, "CN="+name+"-kc") {
			kcSerial = strings.Fields(l)[0]
			mustContain(t, l, "kastle kubeconfig user")
		}
	}
	if kcSerial == "" {
		t.Fatalf("kubeconfig user certificate not recorded")
	}
	if r := kastleCmd(t, "certs", "revoke", kcSerial, "--kubeconfig", s.kubeconfig); r.code != 0 {
		t.Fatalf("revoke: %s", r)
	}
	eventually(t, 5*time.Second, func() string {
		r := run(t, runOpts{}, env.kubectl, "--kubeconfig", kcPath, "auth", "whoami")
		if r.code == 0 || !strings.Contains(r.stderr, "Unauthorized") {
			return "revoked kubeconfig still works: " + r.String()
		}
		return ""
	})
	// Seed 003's kube-proxy identity: bound to system:node-proxier.
	proxy := kastleCmd(t, "kubeconfig", "user", "--client-name", "system:kube-proxy", "--data-dir", s.dataDir)
	if proxy.code != 0 {
		t.Fatalf("kube-proxy kubeconfig: %s", proxy)
	}
	proxyConf := writeFile(t, "kube-proxy.conf", proxy.stdout, 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "endpoints", "-A"}, "yes"},
		{[]string{"watch", "services", "-A"}, "yes"},
		{[]string{"get", "secrets", "-A"}, "no"},
	} {
		r := run(t, runOpts{}, env.kubectl, append([]string{"--kubeconfig", proxyConf, "auth", "can-i"}, tc.args...)...)
		if got := strings.TrimSpace(r.stdout); got != tc.want {
			t.Errorf("kube-proxy can-i %v = %q, want %q (%s)", tc.args, got, tc.want, r.stderr)
		}
	}
	// Revoking a serial nobody was issued is an error, not a silent no-op.
	if r := kastleCmd(t, "certs", "revoke", "abcdef0123", "--data-dir", s.dataDir); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("revoking an unknown serial: %s", r)
	}
}

// TestCertsCheckExpiration: kubeadm's table for a data directory.
func TestCertsCheckExpiration(t *testing.T) {
	t.Parallel()
	r := kastleCmd(t, "certs", "check-expiration", "--data-dir", env.shared.dataDir)
	if r.code != 0 {
		t.Fatalf("check-expiration: %s", r)
	}
	mustContain(t, r.stdout, "CERTIFICATE", "RESIDUAL TIME", "EXTERNALLY MANAGED", "apiserver", "admin.conf", "controller-manager.conf", "CERTIFICATE AUTHORITY")
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "apiserver ") && (!strings.Contains(l, "364d") && !strings.Contains(l, "365d")) {
			t.Errorf("apiserver row: %q", l)
		}
		if strings.HasPrefix(l, "ca ") && !strings.Contains(l, "9y") {
			t.Errorf("ca row: %q", l)
		}
	}
}

// TestCertsGenerateCSR: keys and CSRs for an external CA, checked by
// openssl; existing keys are never overwritten.
func TestCertsGenerateCSR(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ext")
	r := kastleCmd(t, "certs", "generate-csr", "--data-dir", dir, "--apiserver-cert-extra-sans", "api.example.com")
	if r.code != 0 {
		t.Fatalf("generate-csr: %s", r)
	}
	mustContain(t, r.stdout, "apiserver.csr", "admin.conf.csr", "controller-manager.conf.csr", "apiserver-kubelet-client.csr")
	v := run(t, runOpts{}, env.openssl, "req", "-in", filepath.Join(dir, "pki", "apiserver.csr"), "-noout", "-verify", "-text")
	if v.code != 0 {
		t.Fatalf("openssl req -verify: %s", v)
	}
	mustContain(t, v.combined(), "verify OK", "CN = kube-apiserver", "DNS:api.example.com", "IP Address:127.0.0.1",
		"IP Address:10.96.0.1")
	adm := run(t, runOpts{}, env.openssl, "req", "-in", filepath.Join(dir, "admin.conf.csr"), "-noout", "-subject")
	mustContain(t, adm.stdout, "O = system:masters", "CN = kubernetes-admin")
	if info, err := os.Stat(filepath.Join(dir, "pki", "apiserver.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("apiserver.key: %v %v", err, info)
	}
	if r := kastleCmd(t, "certs", "generate-csr", "--data-dir", dir); r.code == 0 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("second run overwrote keys: %s", r)
	}
}

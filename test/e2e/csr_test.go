package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kastle-dev/kastle/internal/pki"
)

// csrYAML is a CertificateSigningRequest manifest for kubectl.
func csrYAML(name, signer string, csrPEM []byte, expirationSeconds int, usages ...string) string {
	exp := ""
	if expirationSeconds > 0 {
		exp = fmt.Sprintf("  expirationSeconds: %d\n", expirationSeconds)
	}
	return fmt.Sprintf(`apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: %s
spec:
  request: %s
  signerName: %s
%s  usages: [%s]
`, name, base64.StdEncoding.EncodeToString(csrPEM), signer, exp, strings.Join(usages, ", "))
}

// waitCSR polls until cond holds for the named CSR.
func waitCSR(t *testing.T, cs kubernetes.Interface, name, what string, cond func(*certificatesv1.CertificateSigningRequest) bool) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	var last *certificatesv1.CertificateSigningRequest
	eventually(t, 20*time.Second, func() string {
		csr, err := cs.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		last = csr
		if !cond(csr) {
			return fmt.Sprintf("csr %s not %s: conditions %+v", name, what, csr.Status.Conditions)
		}
		return ""
	})
	return last
}

func hasCond(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			return true
		}
	}
	return false
}

func issued(csr *certificatesv1.CertificateSigningRequest) bool {
	return len(csr.Status.Certificate) > 0
}

// makeCSR returns a P-256 key (PEM) and a PKCS#10 request (PEM).
func makeCSR(t testing.TB, cn string, orgs []string, dns []string, ips []net.IP) (keyPEM, csrPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: orgs}, DNSNames: dns, IPAddresses: ips}, key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err = pki.EncodeKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	return keyPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func createCSR(ctx context.Context, cs kubernetes.Interface, name, signer string, csrPEM []byte, usages ...certificatesv1.KeyUsage) error {
	_, err := cs.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       certificatesv1.CertificateSigningRequestSpec{Request: csrPEM, SignerName: signer, Usages: usages},
	}, metav1.CreateOptions{})
	return err
}

// TestCSRWithKubectl is the user's flow: an openssl key and request, `kubectl
// create`, `kubectl certificate approve`, and the issued certificate works
// with curl as that user; openssl checks it. A denied request gets no
// certificate; a system:masters request is refused; expirationSeconds is
// honoured.
func TestCSRWithKubectl(t *testing.T) {
	t.Parallel()
	s := env.shared
	ctx := context.Background()
	admin := s.clientset(t)
	dir := t.TempDir()
	prefix := nsName(t.Name())
	name := prefix + "-dev"
	t.Cleanup(func() { kubectl(t, "delete", "csr", name, name+"-denied", "--ignore-not-found") })

	key, req := filepath.Join(dir, "dev.key"), filepath.Join(dir, "dev.csr")
	r := run(t, runOpts{}, env.openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-subj", "/CN="+name+"/O=e2e-devs", "-out", req)
	if r.code != 0 {
		t.Fatalf("openssl req: %s", r)
	}
	csrPEM, err := os.ReadFile(req)
	if err != nil {
		t.Fatal(err)
	}
	mustKubectlIn(t, csrYAML(name, "kubernetes.io/kube-apiserver-client", csrPEM, 600, "client auth"), "create", "-f", "-")
	// Nothing is signed before approval.
	time.Sleep(500 * time.Millisecond)
	if csr, err := admin.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{}); err != nil || issued(csr) {
		t.Fatalf("pending csr: %v issued=%v", err, csr != nil && issued(csr))
	}
	mustKubectl(t, "certificate", "approve", name)
	csr := waitCSR(t, admin, name, "issued", issued)
	out := mustKubectl(t, "get", "csr", name)
	mustContain(t, out, "Approved,Issued", "10m")

	crt := filepath.Join(dir, "dev.crt")
	if err := os.WriteFile(crt, csr.Status.Certificate, 0o600); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(s.dataDir, "pki", "ca.crt")
	if r := run(t, runOpts{}, env.openssl, "verify", "-CAfile", ca, crt); r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Errorf("openssl verify: %s", r)
	}
	text := run(t, runOpts{}, env.openssl, "x509", "-in", crt, "-noout", "-text").stdout
	mustContain(t, text, "TLS Web Client Authentication", "CN = "+name, "O = e2e-devs")
	if strings.Contains(text, "TLS Web Server Authentication") {
		t.Errorf("client certificate has server auth:\n%s", text)
	}
	cert, err := pki.ParseCertsPEM(csr.Status.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	// expirationSeconds 600: ten minutes from signing (NotBefore is
	// backdated five minutes for clock skew).
	if life := cert[0].NotAfter.Sub(cert[0].NotBefore); life < 14*time.Minute || life > 16*time.Minute {
		t.Errorf("certificate lifetime %v, want 10m after a 5m backdate", life)
	}
	// The certificate works with curl, as that user in that group.
	who := curl(t, s, &adminFiles{cert: crt, key: key, ca: ca}, "/apis/authentication.k8s.io/v1/selfsubjectreviews", "-X", "POST",
		"-H", "Content-Type: application/json", "-d", `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`)
	if who.status != 201 || !strings.Contains(who.body, `"username":"`+name+`"`) || !strings.Contains(who.body, "e2e-devs") {
		t.Errorf("whoami with the issued certificate: %d %s", who.status, who.body)
	}

	// Denied: never signed.
	_, csr2 := makeCSR(t, name+"-denied", nil, nil, nil)
	mustKubectlIn(t, csrYAML(name+"-denied", "kubernetes.io/kube-apiserver-client", csr2, 0, "client auth"), "create", "-f", "-")
	mustKubectl(t, "certificate", "deny", name+"-denied")
	time.Sleep(time.Second)
	d, err := admin.CertificatesV1().CertificateSigningRequests().Get(ctx, name+"-denied", metav1.GetOptions{})
	if err != nil || issued(d) || !hasCond(d, certificatesv1.CertificateDenied) {
		t.Errorf("denied csr: %v %+v", err, d.Status)
	}

	// system:masters is never requested through the API.
	_, masters := makeCSR(t, "root", []string{"system:masters"}, nil, nil)
	r = kubectlIn(t, csrYAML(name+"-masters", "kubernetes.io/kube-apiserver-client", masters, 0, "client auth"), "create", "-f", "-")
	if r.code == 0 || !strings.Contains(r.stderr, "system:masters") {
		t.Errorf("system:masters csr: %s", r)
	}
}

// TestCSRSignerRules: an approved request that breaks its signer's rules
// gets a Failed condition naming the rule and no certificate.
func TestCSRSignerRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := env.shared.clientset(t)
	prefix := nsName(t.Name())
	cases := []struct {
		name, signer string
		orgs         []string
		cn           string
		dns          []string
		usages       []certificatesv1.KeyUsage
		want         string // "" = issued, else part of the Failed message
	}{
		{"kubelet-client-wrong-org", "kubernetes.io/kube-apiserver-client-kubelet", []string{"devs"}, "system:node:x", nil,
			[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}, "organization"},
		{"kubelet-client-sans", "kubernetes.io/kube-apiserver-client-kubelet", []string{"system:nodes"}, "system:node:x", []string{"x.example"},
			[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}, "subject alternative names"},
		{"kubelet-client-ok", "kubernetes.io/kube-apiserver-client-kubelet", []string{"system:nodes"}, "system:node:x", nil,
			[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}, ""},
		{"serving-no-san", "kubernetes.io/kubelet-serving", []string{"system:nodes"}, "system:node:x", nil,
			[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}, "at least one DNS or IP"},
		{"serving-client-usage", "kubernetes.io/kubelet-serving", []string{"system:nodes"}, "system:node:x", []string{"x.example"},
			[]certificatesv1.KeyUsage{certificatesv1.UsageServerAuth, certificatesv1.UsageClientAuth}, "not allowed"},
		{"client-server-usage", "kubernetes.io/kube-apiserver-client", nil, "svc", nil,
			[]certificatesv1.KeyUsage{certificatesv1.UsageServerAuth}, "not allowed"},
		{"legacy-anything", "kubernetes.io/legacy-unknown", nil, "legacy", []string{"legacy.example"},
			[]certificatesv1.KeyUsage{certificatesv1.UsageServerAuth, certificatesv1.UsageClientAuth}, ""},
	}
	for _, tc := range cases {
		name := prefix + "-" + tc.name
		t.Cleanup(func() {
			_ = admin.CertificatesV1().CertificateSigningRequests().Delete(ctx, name, metav1.DeleteOptions{})
		})
		_, req := makeCSR(t, tc.cn, tc.orgs, tc.dns, nil)
		if err := createCSR(ctx, admin, name, tc.signer, req, tc.usages...); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		mustKubectl(t, "certificate", "approve", name)
	}
	for _, tc := range cases {
		name := prefix + "-" + tc.name
		csr := waitCSR(t, admin, name, "finished", func(c *certificatesv1.CertificateSigningRequest) bool {
			return issued(c) || hasCond(c, certificatesv1.CertificateFailed)
		})
		if tc.want == "" {
			if !issued(csr) {
				t.Errorf("%s: not issued: %+v", tc.name, csr.Status.Conditions)
			}
			continue
		}
		if issued(csr) {
			t.Errorf("%s: issued despite the signer's rules", tc.name)
			continue
		}
		for _, c := range csr.Status.Conditions {
			if c.Type == certificatesv1.CertificateFailed && !strings.Contains(c.Message, tc.want) {
				t.Errorf("%s: Failed message %q, want it to mention %q", tc.name, c.Message, tc.want)
			}
		}
	}
}

// TestKubeletCSRApproval: kubelet client requests are approved by the
// controller after a SubjectAccessReview (nodeclient from a bootstrap
// token, selfnodeclient from the node itself); a request the requester
// may not make stays pending; kubelet serving requests are never
// auto-approved by default.
func TestKubeletCSRApproval(t *testing.T) {
	t.Parallel()
	s := env.shared
	ctx := context.Background()
	admin := s.clientset(t)
	prefix := nsName(t.Name())
	node := prefix + "-node"

	// A bootstrap token, as `kastle token create` will make.
	id := fmt.Sprintf("%06x", time.Now().UnixNano()&0xffffff)
	secret := "0123456789abcdef"
	if _, err := admin.CoreV1().Secrets("kube-system").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-" + id}, Type: corev1.SecretTypeBootstrapToken,
		StringData: map[string]string{"token-id": id, "token-secret": secret, "usage-bootstrap-authentication": "true",
			"auth-extra-groups": "system:bootstrappers:kastle:e2e-" + prefix},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	group := "system:bootstrappers:kastle:e2e-" + prefix
	bindings := map[string][2]string{ // name → role, group
		prefix + "-bootstrap":   {"system:node-bootstrapper", group},
		prefix + "-nodeclient":  {"system:certificates.k8s.io:certificatesigningrequests:nodeclient", group},
		prefix + "-selfrenewal": {"system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:nodes"},
	}
	for n, b := range bindings {
		mustKubectl(t, "create", "clusterrolebinding", n, "--clusterrole="+b[0], "--group="+b[1])
	}
	t.Cleanup(func() {
		for n := range bindings {
			kubectl(t, "delete", "clusterrolebinding", n, "--ignore-not-found")
		}
		_ = admin.CoreV1().Secrets("kube-system").Delete(ctx, "bootstrap-token-"+id, metav1.DeleteOptions{})
		kubectl(t, "delete", "csr", prefix+"-boot", prefix+"-renew", prefix+"-other", prefix+"-serving", prefix+"-stranger", "--ignore-not-found")
	})
	caPEM, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	bootstrap, err := kubernetes.NewForConfig(&rest.Config{Host: s.url, BearerToken: id + "." + secret, TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}})
	if err != nil {
		t.Fatal(err)
	}
	client := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}

	// nodeclient: the bootstrapper asks for the node's first identity.
	_, req := makeCSR(t, "system:node:"+node, []string{"system:nodes"}, nil, nil)
	eventually(t, 10*time.Second, func() string {
		if err := createCSR(ctx, bootstrap, prefix+"-boot", "kubernetes.io/kube-apiserver-client-kubelet", req, client...); err != nil && !apierrors.IsAlreadyExists(err) {
			return "bootstrapper creating its csr: " + err.Error()
		}
		return ""
	})
	boot := waitCSR(t, admin, prefix+"-boot", "issued", issued)
	for _, c := range boot.Status.Conditions {
		if c.Type == certificatesv1.CertificateApproved && c.Reason != "AutoApproved" {
			t.Errorf("approval reason %q", c.Reason)
		}
	}

	// selfnodeclient: the node renews its own identity with its certificate.
	n := s.certClient(t, "system:node:"+node, "system:nodes")
	_, req = makeCSR(t, "system:node:"+node, []string{"system:nodes"}, nil, nil)
	if err := createCSR(ctx, n, prefix+"-renew", "kubernetes.io/kube-apiserver-client-kubelet", req, client...); err != nil {
		t.Fatal(err)
	}
	waitCSR(t, admin, prefix+"-renew", "issued", issued)

	// A node asking for another node's identity is not auto-approved
	// (nodes hold selfnodeclient only), and neither is a stranger.
	_, req = makeCSR(t, "system:node:"+node+"-other", []string{"system:nodes"}, nil, nil)
	if err := createCSR(ctx, n, prefix+"-other", "kubernetes.io/kube-apiserver-client-kubelet", req, client...); err != nil {
		t.Fatal(err)
	}
	stranger := s.certClient(t, prefix+"-stranger", "e2e-strangers")
	mustKubectl(t, "create", "clusterrolebinding", prefix+"-stranger", "--clusterrole=system:node-bootstrapper", "--user="+prefix+"-stranger")
	t.Cleanup(func() { kubectl(t, "delete", "clusterrolebinding", prefix+"-stranger", "--ignore-not-found") })
	_, req = makeCSR(t, "system:node:"+node, []string{"system:nodes"}, nil, nil)
	eventually(t, 10*time.Second, func() string {
		if err := createCSR(ctx, stranger, prefix+"-stranger", "kubernetes.io/kube-apiserver-client-kubelet", req, client...); err != nil && !apierrors.IsAlreadyExists(err) {
			return err.Error()
		}
		return ""
	})
	// Serving: manual by default.
	_, req = makeCSR(t, "system:node:"+node, []string{"system:nodes"}, []string{node}, []net.IP{net.ParseIP("127.0.0.9")})
	if err := createCSR(ctx, n, prefix+"-serving", "kubernetes.io/kubelet-serving", req, certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	for _, name := range []string{prefix + "-other", prefix + "-stranger", prefix + "-serving"} {
		csr, err := admin.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(csr.Status.Conditions) != 0 || issued(csr) {
			t.Errorf("%s: want pending, got %+v", name, csr.Status.Conditions)
		}
	}
	// A person approves the serving request; then it is signed.
	mustKubectl(t, "certificate", "approve", prefix+"-serving")
	waitCSR(t, admin, prefix+"-serving", "issued", issued)
}

// TestApproveKubeletServing: with --approve-kubelet-serving a serving
// request is approved only when the requester is the node and every SAN is
// one of its Node's addresses; a short --cluster-signing-duration caps
// lifetimes.
func TestApproveKubeletServing(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--approve-kubelet-serving", "--cluster-signing-duration", "3m")
	ctx := context.Background()
	admin := s.clientset(t)
	n := s.certClient(t, "system:node:worker", "system:nodes")
	if _, err := n.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.CoreV1().Nodes().Patch(ctx, "worker", "application/merge-patch+json",
		[]byte(`{"status":{"addresses":[{"type":"Hostname","address":"worker"},{"type":"InternalIP","address":"127.0.0.5"}]}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	serving := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
	_, good := makeCSR(t, "system:node:worker", []string{"system:nodes"}, []string{"worker"}, []net.IP{net.ParseIP("127.0.0.5")})
	_, foreign := makeCSR(t, "system:node:worker", []string{"system:nodes"}, []string{"worker", "api.example.com"}, nil)
	_, foreignIP := makeCSR(t, "system:node:worker", []string{"system:nodes"}, nil, []net.IP{net.ParseIP("127.0.0.6")})
	for name, req := range map[string][]byte{"good": good, "foreign-dns": foreign, "foreign-ip": foreignIP} {
		if err := createCSR(ctx, n, name, "kubernetes.io/kubelet-serving", req, serving...); err != nil {
			t.Fatal(err)
		}
	}
	// The admin's request for the node is not the node's own.
	if err := createCSR(ctx, admin, "by-admin", "kubernetes.io/kubelet-serving", good, serving...); err != nil {
		t.Fatal(err)
	}
	// A request made before its Node registers is approved once the Node
	// reports the addresses.
	late := s.certClient(t, "system:node:late", "system:nodes")
	_, lateReq := makeCSR(t, "system:node:late", []string{"system:nodes"}, []string{"late"}, nil)
	if err := createCSR(ctx, late, "late", "kubernetes.io/kubelet-serving", lateReq, serving...); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, err := late.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := late.CoreV1().Nodes().Patch(ctx, "late", "application/merge-patch+json",
		[]byte(`{"status":{"addresses":[{"type":"Hostname","address":"late"}]}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 40*time.Second, func() string {
		c, err := admin.CertificatesV1().CertificateSigningRequests().Get(ctx, "late", metav1.GetOptions{})
		if err != nil || !issued(c) {
			return "the late node's serving CSR is not issued yet"
		}
		return ""
	})
	csr := waitCSR(t, admin, "good", "issued", issued)
	cert, err := pki.ParseCertsPEM(csr.Status.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	if life := cert[0].NotAfter.Sub(cert[0].NotBefore); life > 9*time.Minute {
		t.Errorf("lifetime %v exceeds --cluster-signing-duration 3m (+5m backdate)", life)
	}
	if cert[0].ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || len(cert[0].IPAddresses) != 1 {
		t.Errorf("serving certificate: usages %v ips %v", cert[0].ExtKeyUsage, cert[0].IPAddresses)
	}
	time.Sleep(time.Second)
	for _, name := range []string{"foreign-dns", "foreign-ip", "by-admin"} {
		c, err := admin.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Status.Conditions) != 0 {
			t.Errorf("%s: want pending, got %+v", name, c.Status.Conditions)
		}
	}
}

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestProtobufNamespace creates a namespace the way kubectl does for
// built-in types: a protobuf request body.
func TestProtobufNamespace(t *testing.T) {
	t.Parallel()
	ns := nsName(t.Name()) + "-pb-test"
	r := kubectl(t, "create", "ns", ns, "-v=8")
	t.Cleanup(func() { kubectl(t, "delete", "ns", ns, "--wait=false", "--ignore-not-found") })
	if r.code != 0 || !strings.Contains(r.stdout, "namespace/"+ns+" created") {
		t.Fatalf("create ns: %s", r)
	}
	// -v=8 logs the headers: make sure the body really was protobuf, and
	// that the server answered in kind.
	reqCT := regexp.MustCompile(`(?m)Request Headers:[\s\S]*?Content-Type: application/vnd\.kubernetes\.protobuf`)
	if !reqCT.MatchString(r.stderr) {
		t.Errorf("kubectl did not send protobuf; the test proves nothing:\n%s", r.stderr)
	}
	if !regexp.MustCompile(`(?m)Response Headers:[\s\S]*?Content-Type: application/vnd\.kubernetes\.protobuf`).MatchString(r.stderr) {
		t.Errorf("server did not answer the protobuf request with protobuf:\n%s", r.stderr)
	}
	if !regexp.MustCompile(`(?m)^` + ns + `\s+Active\s+\d+s$`).MatchString(mustKubectl(t, "get", "ns", ns)) {
		t.Errorf("namespace %s not Active", ns)
	}
}

// TestCertificateApprove approves a CertificateSigningRequest holding a
// real PKCS#10 request with kubectl.
func TestCertificateApprove(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "e2e-user", Organization: []string{"e2e-group"}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	name := nsName(t.Name())
	mustContain(t, mustKubectlIn(t, fmt.Sprintf(`apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: %s
spec:
  request: %s
  signerName: kubernetes.io/kube-apiserver-client
  expirationSeconds: 3600
  usages: [client auth]
`, name, base64.StdEncoding.EncodeToString(csrPEM)), "create", "-f", "-"), "certificatesigningrequest.certificates.k8s.io/"+name+" created")
	t.Cleanup(func() { kubectl(t, "delete", "csr", name, "--ignore-not-found") })

	out := mustKubectl(t, "get", "csr", name)
	if h := strings.Join(fields(firstLine(out)), " "); h != "NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION" {
		t.Errorf("csr header = %q", h)
	}
	if !regexp.MustCompile(`(?m)^` + name + `\s+\d+s\s+kubernetes.io/kube-apiserver-client\s+\S+\s+60m\s+Pending$`).MatchString(out) {
		t.Errorf("new CSR not Pending:\n%s", out)
	}
	// Like kube-apiserver, the server records who asked.
	who := mustKubectl(t, "get", "csr", name, "-o", `jsonpath={.spec.username}|{.spec.groups}`)
	if user, groups, _ := strings.Cut(who, "|"); user == "" || !strings.Contains(groups, "system:authenticated") {
		t.Errorf("spec.username|groups = %q, want the requesting user and its groups incl. system:authenticated", who)
	}
	mustContain(t, mustKubectl(t, "certificate", "approve", name), "certificatesigningrequest.certificates.k8s.io/"+name+" approved")
	out = mustKubectl(t, "get", "csr", name)
	if !regexp.MustCompile(`(?m)^` + name + `\s.*\sApproved(,Issued)?$`).MatchString(out) {
		t.Errorf("CSR not Approved after kubectl certificate approve:\n%s", out)
	}
	cond := mustKubectl(t, "get", "csr", name, "-o", `jsonpath={.status.conditions[?(@.type=="Approved")].reason}`)
	if cond != "KubectlApprove" {
		t.Errorf("Approved condition reason = %q, want KubectlApprove", cond)
	}
	// The request itself survived the protobuf round trips byte for byte.
	got := mustKubectl(t, "get", "csr", name, "-o", "jsonpath={.spec.request}")
	if got != base64.StdEncoding.EncodeToString(csrPEM) {
		t.Errorf("spec.request changed on the way through the server")
	}
}

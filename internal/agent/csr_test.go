package agent

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kastle-dev/kastle/internal/controllers/csrsigning"
)

func parseRequest(t *testing.T, data []byte) *x509.CertificateRequest {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("not a CSR PEM: %q", data)
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.CheckSignature(); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestRequests: the requests are what the kubelet signers accept.
func TestRequests(t *testing.T) {
	key, err := newKey()
	if err != nil {
		t.Fatal(err)
	}
	data, err := clientRequest("n1", key)
	if err != nil {
		t.Fatal(err)
	}
	req := parseRequest(t, data)
	if req.Subject.CommonName != "system:node:n1" || len(req.Subject.Organization) != 1 || req.Subject.Organization[0] != "system:nodes" ||
		len(req.DNSNames)+len(req.IPAddresses)+len(req.EmailAddresses)+len(req.URIs) != 0 {
		t.Errorf("client request: %+v", req.Subject)
	}
	if req.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v", req.PublicKeyAlgorithm)
	}
	data, err = servingRequest("n1", net.ParseIP("127.0.0.2"), key)
	if err != nil {
		t.Fatal(err)
	}
	req = parseRequest(t, data)
	if req.Subject.CommonName != "system:node:n1" || len(req.DNSNames) != 1 || req.DNSNames[0] != "n1" ||
		len(req.IPAddresses) != 1 || !req.IPAddresses[0].Equal(net.ParseIP("127.0.0.2")) {
		t.Errorf("serving request: %+v %v %v", req.Subject, req.DNSNames, req.IPAddresses)
	}
	if _, err := servingRequest("n1", nil, key); err == nil {
		t.Error("serving request without IP accepted")
	}
	// The kinds match the signers the controller signs for.
	if clientKind().signer != csrsigning.SignerAPIServerClientKubelet || servingKind().signer != csrsigning.SignerKubeletServing {
		t.Errorf("signers %s %s", clientKind().signer, servingKind().signer)
	}
	want := map[string][]certificatesv1.KeyUsage{
		"client":  {certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		"serving": {certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
	}
	for name, k := range map[string]csrKind{"client": clientKind(), "serving": servingKind()} {
		if len(k.usages) != 2 || k.usages[0] != want[name][0] || k.usages[1] != want[name][1] {
			t.Errorf("%s usages %v", name, k.usages)
		}
	}
}

func TestCSROutcome(t *testing.T) {
	cond := func(typ certificatesv1.RequestConditionType, status corev1.ConditionStatus) certificatesv1.CertificateSigningRequestCondition {
		return certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: status, Reason: "R", Message: "M"}
	}
	for _, tc := range []struct {
		name   string
		status certificatesv1.CertificateSigningRequestStatus
		cert   bool
		err    string
	}{
		{"pending", certificatesv1.CertificateSigningRequestStatus{}, false, ""},
		{"approved", certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, corev1.ConditionTrue)}}, false, ""},
		{"issued", certificatesv1.CertificateSigningRequestStatus{Certificate: []byte("x"), Conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, corev1.ConditionTrue)}}, true, ""},
		{"denied", certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateDenied, corev1.ConditionTrue)}}, false, "was denied"},
		{"failed", certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved, corev1.ConditionTrue), cond(certificatesv1.CertificateFailed, corev1.ConditionTrue)}}, false, "failed"},
		{"denied false", certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateDenied, corev1.ConditionFalse)}}, false, ""},
	} {
		csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "c1"}, Status: tc.status}
		cert, err := csrOutcome(csr)
		if (cert != nil) != tc.cert {
			t.Errorf("%s: cert %q", tc.name, cert)
		}
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, errNotIssued)) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		}
	}
}

// fakeCSRClient is a fake clientset that names CSRs from generateName, as
// the API server does.
func fakeCSRClient() *fake.Clientset {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "certificatesigningrequests", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject().(*certificatesv1.CertificateSigningRequest)
		if obj.Name == "" {
			obj.Name = obj.GenerateName + rand.String(5)
		}
		obj.Spec.Username = "system:bootstrap:abcdef"
		return false, nil, nil
	})
	return cs
}

// onCreate runs f on each CSR created in cs, in the background.
func onCreate(t *testing.T, cs *fake.Clientset, f func(*certificatesv1.CertificateSigningRequest)) {
	w, err := cs.CertificatesV1().CertificateSigningRequests().Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	go func() {
		for ev := range w.ResultChan() {
			if csr, ok := ev.Object.(*certificatesv1.CertificateSigningRequest); ok && ev.Type == "ADDED" {
				f(csr.DeepCopy())
			}
		}
	}()
}

func TestRequestCertificate(t *testing.T) {
	ctx := context.Background()
	key, _ := newKey()
	req, _ := clientRequest("n1", key)

	t.Run("issued", func(t *testing.T) {
		cs := fakeCSRClient()
		onCreate(t, cs, func(csr *certificatesv1.CertificateSigningRequest) {
			time.Sleep(50 * time.Millisecond)
			csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
			csr.Status.Certificate = []byte("CERT")
			_, _ = cs.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{})
		})
		cert, name, err := requestCertificate(ctx, cs, clientKind(), req, 5*time.Second)
		if err != nil || string(cert) != "CERT" || !strings.HasPrefix(name, "node-csr-") {
			t.Fatalf("requestCertificate = %q, %s, %v", cert, name, err)
		}
		got, err := cs.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
		if err != nil || got.Spec.SignerName != clientKind().signer || string(got.Spec.Request) != string(req) {
			t.Errorf("created CSR %+v %v", got, err)
		}
	})
	t.Run("denied", func(t *testing.T) {
		cs := fakeCSRClient()
		onCreate(t, cs, func(csr *certificatesv1.CertificateSigningRequest) {
			csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue, Reason: "NotYou"}}
			_, _ = cs.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{})
		})
		_, name, err := requestCertificate(ctx, cs, clientKind(), req, 5*time.Second)
		if !errors.Is(err, errNotIssued) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "NotYou") {
			t.Fatalf("denied: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		cs := fakeCSRClient()
		start := time.Now()
		_, name, err := requestCertificate(ctx, cs, clientKind(), req, 300*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "certificate signing request "+name+" was not issued within 300ms") {
			t.Fatalf("timeout: %v", err)
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("timeout took %s", time.Since(start))
		}
	})
	t.Run("forbidden is final", func(t *testing.T) {
		cs := fakeCSRClient()
		cs.PrependReactor("create", "certificatesigningrequests", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, errForbidden()
		})
		_, _, err := requestCertificate(ctx, cs, clientKind(), req, 5*time.Second)
		if err == nil || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), clientKind().signer) {
			t.Fatalf("forbidden: %v", err)
		}
	})
}

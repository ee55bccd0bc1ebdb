package csrcleaner

import (
	"crypto/x509"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/pki"
)

func TestStale(t *testing.T) {
	now := time.Now()
	ca, err := pki.NewSelfSignedCA("ca", "", 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFor := func(validity time.Duration, issued time.Time) []byte {
		c := *ca
		c.Now = func() time.Time { return issued }
		cert, _, err := c.IssueKeyPair(pki.CertSpec{CommonName: "x", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: validity}, "")
		if err != nil {
			t.Fatal(err)
		}
		return pki.EncodeCertPEM(cert)
	}
	csr := func(age time.Duration, cond certificatesv1.RequestConditionType, condAge time.Duration, cert []byte) *certificatesv1.CertificateSigningRequest {
		c := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(now.Add(-age))}}
		if cond != "" {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: cond, LastUpdateTime: metav1.NewTime(now.Add(-condAge))}}
		}
		c.Status.Certificate = cert
		return c
	}
	for _, tt := range []struct {
		name  string
		csr   *certificatesv1.CertificateSigningRequest
		stale bool
	}{
		{"fresh pending", csr(time.Hour, "", 0, nil), false},
		{"old pending", csr(25*time.Hour, "", 0, nil), true},
		{"recently approved", csr(2*time.Hour, certificatesv1.CertificateApproved, 10*time.Minute, certFor(time.Hour, now)), false},
		{"approved long ago", csr(2*time.Hour, certificatesv1.CertificateApproved, 61*time.Minute, certFor(24*time.Hour, now)), true},
		{"denied long ago", csr(2*time.Hour, certificatesv1.CertificateDenied, 2*time.Hour, nil), true},
		{"failed recently", csr(2*time.Hour, certificatesv1.CertificateFailed, time.Minute, nil), false},
		{"certificate expired", csr(time.Minute, certificatesv1.CertificateApproved, time.Minute, certFor(time.Minute, now.Add(-10*time.Minute))), true},
	} {
		if got := Stale(tt.csr, now) != ""; got != tt.stale {
			t.Errorf("%s: stale=%v, want %v (%q)", tt.name, got, tt.stale, Stale(tt.csr, now))
		}
	}
}

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"

	"github.com/kastle-dev/kastle/internal/pki/kubeconfig"
)

// servingCert returns the certificate s serves, verified against its CA.
func servingCert(t *testing.T, s *server) *x509.Certificate {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS to the server: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// TestContinuousRenewal: with two-minute control plane certificates, the
// running server renews its serving certificate and the admin and
// controller-manager kubeconfigs before they expire; after the first
// generation has expired, kubectl (re-reading admin.conf) and the
// in-process controller manager (following controller-manager.conf) keep
// working, the expiry metric follows, and the renewals are recorded.
func TestContinuousRenewal(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about three minutes")
	}
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--certificate-validity-period", "2m")
	ctx := context.Background()
	first := servingCert(t, s)
	if life := first.NotAfter.Sub(first.NotBefore); life > 8*time.Minute {
		t.Fatalf("serving certificate lives %v, want 2m (+5m backdate)", life)
	}
	firstAdmin, err := kubeconfig.ClientCert(s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	firstCM, err := kubeconfig.ClientCert(filepath.Join(s.dataDir, "controller-manager.conf"))
	if err != nil {
		t.Fatal(err)
	}

	// Renewal happens at 70-90 % of the lifetime, well before expiry.
	var renewed *x509.Certificate
	eventually(t, 150*time.Second, func() string {
		c := servingCert(t, s)
		if c.SerialNumber.Cmp(first.SerialNumber) == 0 {
			return "serving certificate not renewed yet"
		}
		renewed = c
		return ""
	})
	if !time.Now().Before(first.NotAfter) {
		t.Errorf("renewed only after the old certificate expired")
	}
	for name, c := range map[string]*x509.Certificate{"admin.conf": firstAdmin, "controller-manager.conf": firstCM} {
		eventually(t, 60*time.Second, func() string {
			now, err := kubeconfig.ClientCert(filepath.Join(s.dataDir, name))
			if err != nil {
				return err.Error()
			}
			if now.SerialNumber.Cmp(c.SerialNumber) == 0 {
				return name + " not renewed yet"
			}
			return ""
		})
	}

	// Past the first generation's expiry, everything still works.
	wait := time.Until(first.NotAfter)
	if w := time.Until(firstCM.NotAfter); w > wait {
		wait = w
	}
	time.Sleep(wait + 2*time.Second)
	if now := servingCert(t, s); now.NotAfter.Before(time.Now()) {
		t.Fatalf("serving an expired certificate")
	}
	s.mustKubectl(t, "get", "namespaces")
	admin := s.clientset(t) // built from the renewed admin.conf
	_, req := makeCSR(t, "after-renewal", nil, nil, nil)
	if err := createCSR(ctx, admin, "after-renewal", "kubernetes.io/kube-apiserver-client", req, certificatesv1.UsageClientAuth); err != nil {
		t.Fatal(err)
	}
	s.mustKubectl(t, "certificate", "approve", "after-renewal")
	waitCSR(t, admin, "after-renewal", "issued by the controller manager on renewed credentials", issued)

	// The metric shows the current serving certificate's expiry.
	metrics := s.mustKubectl(t, "get", "--raw", "/metrics")
	current := servingCert(t, s)
	found := false
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, `kastle_certificate_expiration_timestamp_seconds{certificate="apiserver"}`) {
			var v float64
			if _, err := fmt.Sscanf(strings.Fields(l)[1], "%g", &v); err == nil && int64(v) == current.NotAfter.Unix() {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no apiserver expiry metric equal to %d in:\n%s", current.NotAfter.Unix(), metrics)
	}
	// Renewed certificates are in the issuance record.
	out := s.mustKubectl(t, "get", "issuedcertificates", "-o", "name")
	if !strings.Contains(out, fmt.Sprintf("%x", renewed.SerialNumber)) {
		t.Errorf("renewed serving certificate %x not recorded:\n%s", renewed.SerialNumber, out)
	}
}

// TestCertsRenew: `kastle certs renew all` reissues a running server's
// certificates with the same subject and SANs; the server serves the new
// one without a restart and the renewed admin.conf works.
func TestCertsRenew(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--apiserver-cert-extra-sans", "api.example.com,127.0.0.7")
	before := servingCert(t, s)
	adminBefore, err := kubeconfig.ClientCert(s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if r := kastleCmd(t, "certs", "renew", "nope", "--data-dir", s.dataDir); r.code == 0 || !strings.Contains(r.stderr, "renewable: apiserver") {
		t.Errorf("unknown certificate: %s", r)
	}
	r := kastleCmd(t, "certs", "renew", "all", "--data-dir", s.dataDir)
	if r.code != 0 {
		t.Fatalf("renew: %s", r)
	}
	mustContain(t, r.stdout, "certificate apiserver renewed", "certificate admin.conf renewed", "certificate controller-manager.conf renewed")
	var after *x509.Certificate
	eventually(t, 10*time.Second, func() string {
		after = servingCert(t, s)
		if after.SerialNumber.Cmp(before.SerialNumber) == 0 {
			return "still serving the old certificate"
		}
		return ""
	})
	if strings.Join(after.DNSNames, ",") != strings.Join(before.DNSNames, ",") || len(after.IPAddresses) != len(before.IPAddresses) {
		t.Errorf("SANs changed: %v %v → %v %v", before.DNSNames, before.IPAddresses, after.DNSNames, after.IPAddresses)
	}
	adminAfter, err := kubeconfig.ClientCert(s.kubeconfig)
	if err != nil || adminAfter.SerialNumber.Cmp(adminBefore.SerialNumber) == 0 {
		t.Fatalf("admin.conf not renewed: %v", err)
	}
	s.mustKubectl(t, "get", "ns", "default")
}

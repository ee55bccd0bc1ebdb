package apiserver

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/certrecord"
	"github.com/kastle-dev/kastle/internal/certrenewal"
	"github.com/kastle-dev/kastle/internal/pki"
	"github.com/kastle-dev/kastle/internal/pki/kubeconfig"
	"github.com/kastle-dev/kastle/internal/registry"
)

// startRenewal renews the control plane's certificates continuously:
// the serving certificate (unless --tls-cert-file supplies it) and the
// kubeconfigs' client certificates, when the CA key is here. The CA and
// supplied certificates are watched only. Every certificate's expiry is a
// metric; renewals are recorded; an expiring one becomes a warning Event.
func (s *server) startRenewal(ctx context.Context, cfg Config, p *pki.ServerPKI, adminConf, cmConf string, kubelet kubeletFiles) {
	readCert := func(path string) func() (*x509.Certificate, error) {
		return func() (*x509.Certificate, error) { return readCertFile(path) }
	}
	canSign := p.CA.Key != nil
	items := []certrenewal.Item{{Name: pki.CertCA, Load: readCert(p.CAFile)}}
	serving := certrenewal.Item{Name: pki.CertAPIServer, Load: readCert(p.ServingCertFile)}
	if cfg.TLSCertFile != "" {
		serving.Load = readCert(cfg.TLSCertFile)
	} else if canSign {
		serving.Renew = func() (*x509.Certificate, error) {
			return certrenewal.RenewPair(p.CA, p.ServingSpec, p.ServingCertFile, p.ServingKeyFile)
		}
	}
	items = append(items, serving)
	kc := certrenewal.Item{Name: pki.CertAPIServerKubeletClient, Load: readCert(kubelet.cert)}
	if kubelet.generated && canSign {
		kc.Renew = func() (*x509.Certificate, error) {
			return certrenewal.RenewPair(p.CA, kubelet.spec, kubelet.cert, kubelet.key)
		}
	}
	items = append(items, kc)
	for row, path := range map[string]string{pki.CertAdmin: adminConf, pki.CertControllerManager: cmConf} {
		it := certrenewal.Item{Name: filepath.Base(path), Load: func() (*x509.Certificate, error) { return kubeconfig.ClientCert(path) }}
		if canSign {
			it.Renew = func() (*x509.Certificate, error) {
				spec, _, err := kubeconfig.SpecFor(row, "", "")
				if err != nil {
					return nil, err
				}
				if cfg.CertificateValidity > 0 {
					spec.Cert.Validity = cfg.CertificateValidity
				}
				return kubeconfig.Reissue(path, p.CA, spec)
			}
		}
		items = append(items, it)
	}
	r := &certrenewal.Renewer{
		Items: items, Log: s.log.With("component", "certificate-renewal"),
		Expiry: func(name string, notAfter time.Time) {
			s.metrics.certExpiry.WithLabelValues(name).Set(float64(notAfter.Unix()))
		},
		Renewed: func(name string, cert *x509.Certificate) {
			s.recordCertificates(ctx, map[string]*x509.Certificate{name: cert})
		},
		Expiring: func(name string, cert *x509.Certificate) { s.expiringEvent(ctx, name, cert) },
	}
	go r.Run(ctx)
}

// expiringEvent records a warning Event in kube-system about an expiring
// certificate, pointing at its issuance record.
func (s *server) expiringEvent(ctx context.Context, name string, cert *x509.Certificate) {
	st, ok := s.stores.Store(mustLookup(s.catalogue, "", "v1", "events"))
	if !ok {
		return
	}
	now := metav1.Now()
	left := time.Until(cert.NotAfter).Round(time.Hour)
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("certificate-%s.%x", name, now.UnixNano()), Namespace: metav1.NamespaceSystem},
		InvolvedObject: corev1.ObjectReference{APIVersion: certrecord.Group + "/" + certrecord.Version, Kind: certrecord.Kind,
			Name: certrecord.Name(cert.SerialNumber)},
		Reason:  "CertificateExpiring",
		Message: fmt.Sprintf("certificate %s (%s) expires at %s, in %s", name, cert.Subject, cert.NotAfter.UTC().Format(time.RFC3339), left),
		Type:    corev1.EventTypeWarning, Count: 1, FirstTimestamp: now, LastTimestamp: now,
		Source:              corev1.EventSource{Component: "kastle-certificate-renewal"},
		ReportingController: "kastle.io/certificate-renewal", ReportingInstance: "kastle-apiserver",
	}
	obj := st.Resource.New().(*corev1.Event)
	ev.TypeMeta = obj.TypeMeta
	if _, err := st.Create(ctx, metav1.NamespaceSystem, ev, registry.WriteOptions{FieldManager: "kastle"}); err != nil {
		s.log.Warn("recording a certificate expiry event", "certificate", name, "err", err)
	}
}

// kubeletFiles are the API server's credentials towards node agents.
type kubeletFiles struct {
	cert, key, ca string
	// spec is what a generated pair was issued for (to renew it alike).
	spec      pki.CertSpec
	generated bool
}

// readCertFile reads the first certificate of a PEM file.
func readCertFile(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := pki.ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs[0], nil
}

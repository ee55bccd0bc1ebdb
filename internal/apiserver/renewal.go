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
	items = append(items, layoutItems(p.Dir, cfg.CertificateValidity)...)
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

// handledHere are the layout rows startRenewal treats itself.
var handledHere = map[string]bool{pki.CertCA: true, pki.CertAPIServer: true, pki.CertAPIServerKubeletClient: true,
	pki.CertAdmin: true, pki.CertControllerManager: true}

// layoutItems looks after the rest of kubeadm's set that exists under
// pkiDir (front proxy, local etcd): CAs are watched, leaves renewed alike
// (same subject, SANs and usages) when their CA's key is here.
func layoutItems(pkiDir string, validity time.Duration) []certrenewal.Item {
	layout := pki.Layout()
	var items []certrenewal.Item
	for _, f := range layout {
		if handledHere[f.Name] || f.Base == "" {
			continue
		}
		certFile, keyFile := f.CertPath(pkiDir), f.KeyPath(pkiDir)
		if _, err := os.Stat(certFile); err != nil {
			continue
		}
		it := certrenewal.Item{Name: f.Name, Load: func() (*x509.Certificate, error) { return readCertFile(certFile) }}
		if f.CA != "" {
			caRow, err := layout.Get(f.CA)
			if err != nil {
				continue
			}
			caCert, caKey := caRow.CertPath(pkiDir), caRow.KeyPath(pkiDir)
			if _, err := os.Stat(caKey); err == nil {
				it.Renew = func() (*x509.Certificate, error) {
					certPEM, err := os.ReadFile(caCert)
					if err != nil {
						return nil, err
					}
					keyPEM, err := os.ReadFile(caKey)
					if err != nil {
						return nil, err
					}
					ca, err := pki.LoadCA(certPEM, keyPEM, nil)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", caCert, err)
					}
					cur, err := readCertFile(certFile)
					if err != nil {
						return nil, err
					}
					return certrenewal.RenewPair(ca, certrenewal.SpecOf(cur, validity), certFile, keyFile)
				}
			}
		}
		items = append(items, it)
	}
	return items
}

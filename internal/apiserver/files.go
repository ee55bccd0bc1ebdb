package apiserver

import (
	"github.com/kastle-dev/kastle/internal/pki"
	"github.com/kastle-dev/kastle/internal/pki/kubeconfig"
)

// EnsureFiles creates (or checks) every file the server would at start:
// the PKI (CA, serving and kubelet client pairs, service-account key) and
// the admin and controller-manager kubeconfigs pointing at serverURL. It
// is `kastle init phase certs` and `kubeconfig`; it returns the PKI.
func EnsureFiles(cfg Config, serverURL string) (*pki.ServerPKI, error) {
	p, err := pki.EnsureServerPKI(pki.ServerPKIConfig{DataDir: cfg.DataDir, BindAddress: cfg.BindAddress, ExtraSANs: cfg.ExtraSANs,
		LeafValidity: cfg.CertificateValidity})
	if err != nil {
		return nil, err
	}
	if cfg.KubeletClientCertificate == "" {
		if _, _, _, err := ensureKubeletClient(p, cfg.CertificateValidity); err != nil {
			return nil, err
		}
	}
	if cfg.ServiceAccountSigningKeyFile == "" {
		if _, _, err := pki.EnsureServiceAccountKey(p.Dir, ""); err != nil {
			return nil, err
		}
	}
	for _, row := range []string{pki.CertAdmin, pki.CertControllerManager} {
		if _, err := kubeconfig.EnsureFor(row, cfg.DataDir, serverURL, p.CA, "", cfg.CertificateValidity); err != nil {
			return nil, err
		}
	}
	return p, nil
}

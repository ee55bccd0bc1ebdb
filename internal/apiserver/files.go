package apiserver

import (
	"github.com/kastle-dev/kastle/internal/pki"
	"github.com/kastle-dev/kastle/internal/pki/kubeconfig"
)

// EnsurePKI creates (or checks) the PKI the server needs at start: the
// CA, the serving and kubelet client pairs and the service-account key
// (`kastle init phase certs`).
func EnsurePKI(cfg Config) (*pki.ServerPKI, error) {
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
	return p, nil
}

// EnsureKubeconfigs creates (or checks) the admin and controller-manager
// kubeconfigs the server writes at start, signed by ca and pointing at
// serverURL (`kastle init phase kubeconfig`).
func EnsureKubeconfigs(cfg Config, ca *pki.CA, serverURL string) error {
	for _, row := range []string{pki.CertAdmin, pki.CertControllerManager} {
		if _, err := kubeconfig.EnsureFor(row, cfg.DataDir, serverURL, ca, "", cfg.CertificateValidity); err != nil {
			return err
		}
	}
	return nil
}

package apiserver

import (
	"fmt"
	"net"
	"slices"

	"github.com/kastle-dev/kastle/internal/pki"
	"github.com/kastle-dev/kastle/internal/pki/kubeconfig"
	"github.com/kastle-dev/kastle/internal/servicealloc"
)

// EnsurePKI creates (or checks) the PKI the server needs at start: the
// CA, the serving and kubelet client pairs and the service-account key
// (`kastle init phase certs`).
func EnsurePKI(cfg Config) (*pki.ServerPKI, error) {
	pc, err := ServingPKIConfig(cfg)
	if err != nil {
		return nil, err
	}
	p, err := pki.EnsureServerPKI(pc)
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

// ServingPKIConfig says what the serving certificate covers, as
// kube-apiserver's: beside the bind address and the extra SANs, the
// `kubernetes` Service's cluster IP (what in-cluster clients dial) and an
// explicit --advertise-address.
func ServingPKIConfig(cfg Config) (pki.ServerPKIConfig, error) {
	pc := pki.ServerPKIConfig{DataDir: cfg.DataDir, BindAddress: cfg.BindAddress, ExtraSANs: cfg.ExtraSANs,
		LeafValidity: cfg.CertificateValidity}
	cidrs, err := servicealloc.ParseServiceCIDRs(cfg.ServiceClusterIPRange)
	if err != nil {
		return pc, err
	}
	pc.KubernetesServiceIP = servicealloc.KubernetesServiceIP(cidrs[0])
	// Only an explicit --advertise-address: the fallback (the host's first
	// address) can change between starts and would then read as drift.
	if cfg.AdvertiseAddress != "" {
		ip := net.ParseIP(cfg.AdvertiseAddress)
		if ip == nil {
			return pc, fmt.Errorf("--advertise-address %q is not an IP address", cfg.AdvertiseAddress)
		}
		if !ip.IsUnspecified() {
			pc.ExtraSANs = append(slices.Clip(pc.ExtraSANs), ip.String())
		}
	}
	return pc, nil
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

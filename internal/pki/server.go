package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultClusterDomain is the cluster DNS domain when none is configured.
const DefaultClusterDomain = "cluster.local"

// PKIDir returns the pki directory of a data directory.
func PKIDir(dataDir string) string { return filepath.Join(dataDir, "pki") }

// ServerPKIConfig says what the API server's certificates must cover. The
// zero value of each field other than DataDir has a default.
type ServerPKIConfig struct {
	// DataDir holds pki/ (created with DirMode).
	DataDir string
	// BindAddress is the serving IP; added as a SAN unless unspecified
	// ("", 0.0.0.0 or ::). It must be an IP address.
	BindAddress string
	// ExtraSANs are added as IP SANs when they parse as IPs, else DNS SANs.
	ExtraSANs []string
	// ClusterDomain is the cluster DNS domain; "" means DefaultClusterDomain.
	ClusterDomain string
	// KubernetesServiceIP, if set, is the ClusterIP of the "kubernetes"
	// Service, added as a SAN so in-cluster clients can verify the server.
	KubernetesServiceIP net.IP
	// Hostname is added as a DNS SAN; "" means os.Hostname().
	Hostname string
	// KeyAlgorithm is used for new keys; "" means DefaultKeyAlgorithm.
	KeyAlgorithm KeyAlgorithm
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LeafValidity is the lifetime of new leaf certificates (kubeadm's
	// certificateValidityPeriod); 0 means the profile's (one year).
	LeafValidity time.Duration
}

// ServerPKI is the API server's ensured PKI: what its TLS listener serves
// and which client certificates it trusts.
type ServerPKI struct {
	// Dir is the pki directory.
	Dir string
	// CA is the cluster CA; its Key is nil in external-CA mode.
	CA *CA
	// Serving is the apiserver certificate and key.
	Serving *KeyPair
	// ServingCert is Serving ready for tls.Config.Certificates.
	ServingCert tls.Certificate
	// ServingSpec is what Serving was issued for (to renew it alike).
	ServingSpec CertSpec
	// ClientCAPool trusts client certificates issued by the CA.
	ClientCAPool *x509.CertPool
	// Files, for flags, logs and kubeconfigs. CAKeyFile does not exist in
	// external-CA mode (CA.Key == nil).
	CAFile, CAKeyFile, ServingCertFile, ServingKeyFile string
}

// APIServerSANs computes the apiserver certificate's SANs from cfg: DNS
// localhost, kubernetes, kubernetes.default, kubernetes.default.svc,
// kubernetes.default.svc.<domain>, the hostname; IP 127.0.0.1, the
// Kubernetes service IP, the bind address unless unspecified, then the
// extra SANs. Duplicates are dropped.
func APIServerSANs(cfg ServerPKIConfig) (SANs, error) {
	domain := strings.Trim(cfg.ClusterDomain, ".")
	if domain == "" {
		domain = DefaultClusterDomain
	}
	hostname := cfg.Hostname
	if hostname == "" {
		if h, err := os.Hostname(); err == nil {
			hostname = h
		}
	}
	var s SANs
	for _, d := range []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc." + domain} {
		if err := validateDNSName(d); err != nil {
			return SANs{}, fmt.Errorf("pki: cluster domain %q: %w", cfg.ClusterDomain, err)
		}
		s.addDNS(d)
	}
	if hostname != "" {
		if err := validateDNSName(hostname); err != nil {
			return SANs{}, fmt.Errorf("pki: hostname: %w", err)
		}
		s.addDNS(hostname)
	}
	s.addIP(net.IPv4(127, 0, 0, 1))
	if cfg.KubernetesServiceIP != nil {
		s.addIP(cfg.KubernetesServiceIP)
	}
	if cfg.BindAddress != "" {
		ip := net.ParseIP(cfg.BindAddress)
		if ip == nil {
			return SANs{}, fmt.Errorf("pki: bind address %q is not an IP address", cfg.BindAddress)
		}
		if !ip.IsUnspecified() {
			s.addIP(ip)
		}
	}
	extra, err := ParseSANs(cfg.ExtraSANs)
	if err != nil {
		return SANs{}, fmt.Errorf("pki: extra SANs: %w", err)
	}
	s.merge(extra)
	return s, nil
}

// EnsureServerPKI ensures <DataDir>/pki/ca.{crt,key} and
// apiserver.{crt,key} as the Layout describes, creating what is missing
// and reusing what is valid (see Store.EnsureCA and Store.EnsureLeaf for
// the rules). It is cheap enough to run on every start.
//
// When ca.crt exists without ca.key (external-CA mode) it succeeds only if
// the apiserver pair exists and is valid; otherwise the error says so.
func EnsureServerPKI(cfg ServerPKIConfig) (*ServerPKI, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("pki: EnsureServerPKI: no data directory")
	}
	if err := cfg.KeyAlgorithm.Validate(); err != nil {
		return nil, err
	}
	layout := Layout()
	profiles := Profiles()
	if err := layout.Validate(profiles); err != nil {
		return nil, err
	}
	sans, err := APIServerSANs(cfg)
	if err != nil {
		return nil, err
	}
	if err := ensureDir(cfg.DataDir); err != nil {
		return nil, err
	}
	store := Store{Dir: PKIDir(cfg.DataDir), KeyAlgorithm: cfg.KeyAlgorithm, Now: cfg.Now}

	caRow, err := layout.Get(CertCA)
	if err != nil {
		return nil, err
	}
	caSpec, err := caRow.Spec(profiles, SANs{})
	if err != nil {
		return nil, err
	}
	ca, err := store.EnsureCA(caRow.Base, caSpec)
	if err != nil {
		return nil, err
	}

	srvRow, err := layout.Get(CertAPIServer)
	if err != nil {
		return nil, err
	}
	srvSpec, err := srvRow.Spec(profiles, sans)
	if err != nil {
		return nil, err
	}
	if cfg.LeafValidity > 0 {
		srvSpec.Validity = cfg.LeafValidity
	}
	serving, err := store.EnsureLeaf(srvRow.Base, ca, srvSpec)
	if errors.Is(err, ErrExpired) && ca.Key != nil {
		// Down past its renewal: issue a new one rather than refuse to
		// start (continuous renewal would have replaced it by now).
		if err = os.Remove(srvRow.CertPath(store.Dir)); err == nil {
			serving, err = store.EnsureLeaf(srvRow.Base, ca, srvSpec)
		}
	}
	if err != nil {
		if errors.Is(err, ErrExternalCA) {
			return nil, fmt.Errorf("%w (%s exists but %s does not: external CA mode needs every certificate to be "+
				"provided)", err, caRow.CertPath(store.Dir), caRow.KeyPath(store.Dir))
		}
		return nil, err
	}
	return &ServerPKI{
		Dir:             store.Dir,
		CA:              ca,
		Serving:         serving,
		ServingCert:     serving.TLSCertificate(),
		ServingSpec:     srvSpec,
		ClientCAPool:    ca.Pool(),
		CAFile:          caRow.CertPath(store.Dir),
		CAKeyFile:       caRow.KeyPath(store.Dir),
		ServingCertFile: serving.CertFile,
		ServingKeyFile:  serving.KeyFile,
	}, nil
}

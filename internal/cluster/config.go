package cluster

import (
	"errors"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// ConfigAPIVersion and ConfigKind identify `kastle init --config` files.
const (
	ConfigAPIVersion = "kastle.io/v1alpha1"
	ConfigKind       = "InitConfiguration"
)

// InitConfigFile is the versioned `kastle init --config` file. Every
// field is optional; a flag given on the command line wins over it.
type InitConfigFile struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`

	DataDir              string   `json:"dataDir,omitempty"`
	NodeName             string   `json:"nodeName,omitempty"`
	ControlPlaneEndpoint string   `json:"controlPlaneEndpoint,omitempty"`
	BindAddress          string   `json:"bindAddress,omitempty"`
	SecurePort           *int     `json:"securePort,omitempty"`
	APIServerCertSANs    []string `json:"apiServerCertSANs,omitempty"`
	// CertificateValidityPeriod is kubeadm's name for the leaf lifetime.
	CertificateValidityPeriod *metav1.Duration `json:"certificateValidityPeriod,omitempty"`
	BootstrapToken            *struct {
		Token string           `json:"token,omitempty"`
		TTL   *metav1.Duration `json:"ttl,omitempty"`
	} `json:"bootstrapToken,omitempty"`
	UploadCerts           bool     `json:"uploadCerts,omitempty"`
	CertificateKey        string   `json:"certificateKey,omitempty"`
	IgnorePreflightErrors []string `json:"ignorePreflightErrors,omitempty"`
	Etcd                  *struct {
		Servers  []string `json:"servers,omitempty"`
		CAFile   string   `json:"caFile,omitempty"`
		CertFile string   `json:"certFile,omitempty"`
		KeyFile  string   `json:"keyFile,omitempty"`
		Prefix   string   `json:"prefix,omitempty"`
	} `json:"etcd,omitempty"`
}

// LoadInitConfigFile reads path strictly: an unknown field or another
// kind is an error naming it.
func LoadInitConfigFile(path string) (*InitConfigFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var f InitConfigFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	if f.APIVersion != ConfigAPIVersion || f.Kind != ConfigKind {
		return nil, fmt.Errorf("--config %s: apiVersion %q kind %q, want %s %s", path, f.APIVersion, f.Kind, ConfigAPIVersion, ConfigKind)
	}
	if f.SecurePort != nil && (*f.SecurePort < 0 || *f.SecurePort > 65535) {
		return nil, fmt.Errorf("--config %s: securePort %d is not a port", path, *f.SecurePort)
	}
	return &f, nil
}

// Apply copies the file's settings into cfg, except those whose flag
// was given (changed reports that by flag name).
func (f *InitConfigFile) Apply(cfg *InitConfig, changed func(flag string) bool) error {
	if cfg == nil {
		return errors.New("no configuration to apply to")
	}
	set := func(flag string, apply func()) {
		if !changed(flag) {
			apply()
		}
	}
	if f.DataDir != "" {
		set("data-dir", func() { cfg.Server.DataDir = f.DataDir })
	}
	if f.NodeName != "" {
		set("node-name", func() { cfg.NodeName = f.NodeName })
	}
	if f.ControlPlaneEndpoint != "" {
		set("control-plane-endpoint", func() { cfg.ControlPlaneEndpoint = f.ControlPlaneEndpoint })
	}
	if f.BindAddress != "" {
		set("bind-address", func() { cfg.Server.BindAddress = f.BindAddress })
	}
	if f.SecurePort != nil {
		set("secure-port", func() { cfg.Server.SecurePort = *f.SecurePort })
	}
	if len(f.APIServerCertSANs) > 0 {
		set("apiserver-cert-extra-sans", func() { cfg.Server.ExtraSANs = f.APIServerCertSANs })
	}
	if f.CertificateValidityPeriod != nil {
		set("certificate-validity-period", func() { cfg.Server.CertificateValidity = f.CertificateValidityPeriod.Duration })
	}
	if t := f.BootstrapToken; t != nil {
		if t.Token != "" {
			set("token", func() { cfg.Token = t.Token })
		}
		if t.TTL != nil {
			set("token-ttl", func() { cfg.TokenTTL = t.TTL.Duration })
		}
	}
	if f.UploadCerts {
		set("upload-certs", func() { cfg.UploadCerts = true })
	}
	if f.CertificateKey != "" {
		set("certificate-key", func() { cfg.CertificateKey = f.CertificateKey })
	}
	if len(f.IgnorePreflightErrors) > 0 {
		set("ignore-preflight-errors", func() { cfg.IgnorePreflightErrors = f.IgnorePreflightErrors })
	}
	if e := f.Etcd; e != nil {
		if len(e.Servers) > 0 {
			set("etcd-servers", func() { cfg.Server.EtcdServers = e.Servers })
		}
		for flag, v := range map[string]struct {
			val string
			dst *string
		}{"etcd-cafile": {e.CAFile, &cfg.Server.EtcdCAFile}, "etcd-certfile": {e.CertFile, &cfg.Server.EtcdCertFile},
			"etcd-keyfile": {e.KeyFile, &cfg.Server.EtcdKeyFile}, "etcd-prefix": {e.Prefix, &cfg.Server.EtcdPrefix}} {
			if v.val != "" {
				set(flag, func() { *v.dst = v.val })
			}
		}
	}
	return nil
}

package agent

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kastle-dev/kastle/internal/auth/authz/node"
)

// Defaults of Config, kubelet's where kubelet has the setting.
const (
	DefaultPort                      = 10250
	DefaultNodeIP                    = "127.0.0.1"
	DefaultLeaseDurationSeconds      = 40
	DefaultNodeStatusUpdateFrequency = 10 * time.Second
	DefaultLeaseRenewInterval        = 10 * time.Second
	DefaultBootstrapTimeout          = 5 * time.Minute
	DefaultServingCSRTimeout         = time.Hour
	DefaultMaxPods                   = 110
)

// File names under the data directory (kubelet's).
const (
	BootstrapKubeconfigName = "bootstrap-kubelet.conf"
	KubeconfigName          = "kubelet.conf"
	PKIDirName              = "pki"
	ClientCertPrefix        = "kubelet-client"
	ServerCertPrefix        = "kubelet-server"
)

// Config is the agent's configuration; the CLI fills it from flags.
// Call Complete before use.
type Config struct {
	// DataDir holds kubelet.conf and pki/ (required).
	DataDir string `json:"dataDir"`
	// NodeName is the Node's name; "" means the host name, lower-cased.
	NodeName string `json:"nodeName"`
	// NodeIP is the InternalIP address of the Node and the address the API
	// listens on.
	NodeIP string `json:"nodeIP"`
	// Port is the HTTPS port; 0 picks a free one.
	Port int `json:"port"`
	// BootstrapKubeconfig is used only to obtain the first client
	// certificate; "" means DataDir/bootstrap-kubelet.conf.
	BootstrapKubeconfig string `json:"bootstrapKubeconfig"`
	// Kubeconfig is written after bootstrap and used afterwards; "" means
	// DataDir/kubelet.conf.
	Kubeconfig string `json:"kubeconfig"`
	// RotateCertificates renews the client certificate before it expires.
	RotateCertificates bool `json:"rotateCertificates"`
	// RotateServerCertificates renews the serving certificate before it
	// expires.
	RotateServerCertificates bool `json:"serverTLSBootstrap"`
	// NodeLabels are added to the Node at registration.
	NodeLabels map[string]string `json:"nodeLabels,omitempty"`
	// RegisterWithTaints are set on the Node at registration only.
	RegisterWithTaints []corev1.Taint `json:"registerWithTaints,omitempty"`
	// LeaseDurationSeconds is the Lease's leaseDurationSeconds.
	LeaseDurationSeconds int32 `json:"nodeLeaseDurationSeconds"`
	// NodeStatusUpdateFrequency is how often the Node's status is written.
	NodeStatusUpdateFrequency time.Duration `json:"nodeStatusUpdateFrequency"`
	// LeaseRenewInterval is how often the Lease is renewed; 0 means 10s.
	LeaseRenewInterval time.Duration `json:"leaseRenewInterval"`
	// BootstrapTimeout bounds the wait for the first client certificate.
	BootstrapTimeout time.Duration `json:"bootstrapTimeout"`
	// ServingCSRTimeout bounds the wait for one serving CSR; after it a new
	// request is made (the old one may have been cleaned up).
	ServingCSRTimeout time.Duration `json:"servingCSRTimeout"`
	// DisableServer skips the serving certificate and the HTTPS API (for
	// simulated agents in benchmarks).
	DisableServer bool `json:"-"`
}

// Complete fills in defaults and checks the configuration. hostname names
// the node when NodeName is empty (os.Hostname in the CLI); it may be nil
// when NodeName is set.
func (c *Config) Complete(hostname func() (string, error)) error {
	if c.DataDir == "" {
		return errors.New("agent: --data-dir is required")
	}
	if c.NodeName == "" {
		if hostname == nil {
			return errors.New("agent: no node name")
		}
		h, err := hostname()
		if err != nil {
			return fmt.Errorf("agent: no --node-name and the host name is unknown: %w", err)
		}
		c.NodeName = strings.ToLower(h)
	}
	if errs := validation.IsDNS1123Subdomain(c.NodeName); len(errs) > 0 {
		return fmt.Errorf("agent: node name %q: %s", c.NodeName, strings.Join(errs, "; "))
	}
	if c.NodeIP == "" {
		c.NodeIP = DefaultNodeIP
	}
	if net.ParseIP(c.NodeIP) == nil {
		return fmt.Errorf("agent: --node-ip %q is not an IP address", c.NodeIP)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("agent: --port %d is out of range", c.Port)
	}
	if c.BootstrapKubeconfig == "" {
		c.BootstrapKubeconfig = filepath.Join(c.DataDir, BootstrapKubeconfigName)
	}
	if c.Kubeconfig == "" {
		c.Kubeconfig = filepath.Join(c.DataDir, KubeconfigName)
	}
	if c.LeaseDurationSeconds <= 0 {
		c.LeaseDurationSeconds = DefaultLeaseDurationSeconds
	}
	if c.NodeStatusUpdateFrequency <= 0 {
		c.NodeStatusUpdateFrequency = DefaultNodeStatusUpdateFrequency
	}
	if c.LeaseRenewInterval <= 0 {
		c.LeaseRenewInterval = DefaultLeaseRenewInterval
	}
	if c.BootstrapTimeout <= 0 {
		c.BootstrapTimeout = DefaultBootstrapTimeout
	}
	if c.ServingCSRTimeout <= 0 {
		c.ServingCSRTimeout = DefaultServingCSRTimeout
	}
	for k, v := range c.NodeLabels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("agent: node label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("agent: node label %q value %q: %s", k, v, strings.Join(errs, "; "))
		}
		if node.RestrictedLabel(k) {
			// NodeRestriction would refuse the registration; say so now
			// rather than retry forever.
			return fmt.Errorf("agent: node label %q is in a kubernetes.io or k8s.io namespace a node may not set on itself "+
				"(allowed there: kubelet.kubernetes.io/, node.kubernetes.io/ and the well-known topology labels)", k)
		}
	}
	return nil
}

// PKIDir is DataDir/pki.
func (c *Config) PKIDir() string { return filepath.Join(c.DataDir, PKIDirName) }

// ParseLabels reads --node-labels: "k=v,k2=v2".
func ParseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("node label %q is not key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

// ParseTaints reads --register-with-taints: "key[=value]:Effect,...".
func ParseTaints(s string) ([]corev1.Taint, error) {
	var out []corev1.Taint
	for _, spec := range strings.Split(s, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		kv, effect, ok := strings.Cut(spec, ":")
		if !ok {
			return nil, fmt.Errorf("taint %q has no effect (key[=value]:NoSchedule|PreferNoSchedule|NoExecute)", spec)
		}
		switch e := corev1.TaintEffect(effect); e {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return nil, fmt.Errorf("taint %q: unknown effect %q (NoSchedule, PreferNoSchedule or NoExecute)", spec, effect)
		}
		k, v, _ := strings.Cut(kv, "=")
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("taint %q: key %q: %s", spec, k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, fmt.Errorf("taint %q: value %q: %s", spec, v, strings.Join(errs, "; "))
		}
		out = append(out, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)})
	}
	return out, nil
}

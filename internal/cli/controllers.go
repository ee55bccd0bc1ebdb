package cli

import (
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/controllers/csrsigning"
	"github.com/kastle-dev/kastle/internal/controllers/manager"
)

// controllerFlags are the controller manager's flags, shared by `kastle
// server` (in-process controllers) and `kastle controller-manager`, with
// kube-controller-manager's names.
type controllerFlags struct {
	signing   csrsigning.CAFiles
	perSigner map[string]*csrsigning.CAFiles
}

func newControllerFlags() *controllerFlags {
	c := &controllerFlags{perSigner: map[string]*csrsigning.CAFiles{}}
	for _, s := range csrsigning.Signers() {
		c.perSigner[s] = &csrsigning.CAFiles{}
	}
	return c
}

// add binds the flags to cfg (and c for the file names).
func (c *controllerFlags) add(f *pflag.FlagSet, cfg *manager.Config, signingDefault string) {
	f.StringVar(&c.signing.CertFile, "cluster-signing-cert-file", "", "CA certificate (PEM) signing approved CSRs of the kubernetes.io signers"+signingDefault)
	f.StringVar(&c.signing.KeyFile, "cluster-signing-key-file", "", "private key of --cluster-signing-cert-file"+signingDefault)
	for signer, flag := range map[string]string{
		csrsigning.SignerAPIServerClient:        "kube-apiserver-client",
		csrsigning.SignerAPIServerClientKubelet: "kubelet-client",
		csrsigning.SignerKubeletServing:         "kubelet-serving",
		csrsigning.SignerLegacyUnknown:          "legacy-unknown",
	} {
		files := c.perSigner[signer]
		f.StringVar(&files.CertFile, "cluster-signing-"+flag+"-cert-file", "", "CA certificate for the "+signer+" signer (overrides --cluster-signing-cert-file)")
		f.StringVar(&files.KeyFile, "cluster-signing-"+flag+"-key-file", "", "private key for the "+signer+" signer")
	}
	cfg.Signing.Duration = csrsigning.DefaultDuration
	f.DurationVar(&cfg.Signing.Duration, "cluster-signing-duration", cfg.Signing.Duration, "maximum lifetime of signed certificates (spec.expirationSeconds may ask for less)")
	f.BoolVar(&cfg.ApproveKubeletServing, "approve-kubelet-serving", false, "approve kubelet serving CSRs whose every SAN is an address of the requesting Node (off: a person approves them)")
	f.DurationVar(&cfg.CleanerInterval, "csr-cleaner-interval", time.Minute, "how often stale CSRs are looked for")
	f.StringVar(&cfg.RootCAFile, "root-ca-file", "", "CA bundle published to every namespace as kube-root-ca.crt"+signingDefault)
	f.DurationVar(&cfg.NodeMonitorGracePeriod, "node-monitor-grace-period", 40*time.Second, "how long a node may stay silent before it is marked Ready=Unknown")
	f.DurationVar(&cfg.NodeMonitorPeriod, "node-monitor-period", 5*time.Second, "how often node heartbeats are checked")
	f.StringSliceVar(&cfg.Controllers, "controllers", []string{"*"}, "controllers to run: '*' for all, 'foo' to add one, '-foo' to leave one out; all: "+
		strings.Join(manager.ControllerNames(), ", "))
	f.Float32Var(&cfg.QPS, "kube-api-qps", manager.DefaultQPS, "requests per second each of the controller manager's API clients may send (its typed, dynamic and metadata clients and the namespace controller's and garbage collector's each have their own limit; negative: no limit)")
	f.IntVar(&cfg.Burst, "kube-api-burst", manager.DefaultBurst, "requests each API client may send at once above --kube-api-qps")
	f.StringVar(&cfg.ContentType, "kube-api-content-type", runtime.ContentTypeProtobuf, "content type of the controller manager's requests for built-in types (application/vnd.kubernetes.protobuf or application/json)")
	cfg.LeaderElect = true
	f.BoolVar(&cfg.LeaderElect, "leader-elect", cfg.LeaderElect, "run the controllers only while holding the kube-system/kube-controller-manager Lease")
	f.DurationVar(&cfg.LeaseDuration, "leader-elect-lease-duration", manager.DefaultLeaseDuration, "how long a leader's Lease lasts without renewal")
	f.DurationVar(&cfg.RenewDeadline, "leader-elect-renew-deadline", manager.DefaultRenewDeadline, "how long the leader keeps trying to renew before it stops leading")
	f.DurationVar(&cfg.RetryPeriod, "leader-elect-retry-period", manager.DefaultRetryPeriod, "how often candidates try to acquire or renew the Lease")
}

// apply copies the file flags into cfg; defaultFiles fills the cluster
// signing CA when its flags are empty.
func (c *controllerFlags) apply(cfg *manager.Config, defaultFiles csrsigning.CAFiles) {
	cfg.Signing.Default = c.signing
	if cfg.Signing.Default.CertFile == "" && cfg.Signing.Default.KeyFile == "" {
		cfg.Signing.Default = defaultFiles
	}
	cfg.Signing.PerSigner = map[string]csrsigning.CAFiles{}
	for s, files := range c.perSigner {
		if files.CertFile != "" || files.KeyFile != "" {
			cfg.Signing.PerSigner[s] = *files
		}
	}
}

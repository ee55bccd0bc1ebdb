package testenv

import (
	"io"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Options configure an Environment. The zero value starts an empty
// cluster with kastle's defaults (RBAC and Node authorization, the
// default admission plugins, the in-process controllers).
type Options struct {
	// CRDDirectoryPaths are files or directories of CustomResourceDefinition
	// manifests (.yaml, .yml, .json; several documents per file allowed,
	// documents of other kinds skipped) installed before Start returns.
	// A missing path is skipped unless ErrorIfCRDPathMissing is set.
	CRDDirectoryPaths []string
	// CRDs are installed alongside those read from CRDDirectoryPaths.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// ErrorIfCRDPathMissing makes a missing CRDDirectoryPaths entry an
	// error instead of being skipped.
	ErrorIfCRDPathMissing bool
	// WebhookInstallOptions registers admission webhooks served by the
	// test itself; see WebhookInstallOptions.
	WebhookInstallOptions WebhookInstallOptions
	// AttachControlPlaneOutput copies the server's log to
	// ControlPlaneOutput (default os.Stderr) as it is written. Without it
	// the last lines are still kept for Environment.Logs and for New's
	// failure message.
	AttachControlPlaneOutput bool
	// ControlPlaneOutput receives the log when AttachControlPlaneOutput
	// is set; nil means os.Stderr.
	ControlPlaneOutput io.Writer
	// ControlPlaneStartTimeout bounds Start, CRD and webhook installation
	// included; 0 means 60 s (generous: parallel environments on a
	// loaded CI machine).
	ControlPlaneStartTimeout time.Duration
	// ControlPlaneStopTimeout bounds Stop; 0 means 30 s.
	ControlPlaneStopTimeout time.Duration

	// APIServerFlags are `kastle server` flags with kube-apiserver's
	// names and meaning, e.g. "--authorization-mode=RBAC",
	// "--enable-admission-plugins=AlwaysPullImages",
	// "--anonymous-auth=false", "--run-controllers=false".
	// --data-dir, --secure-port and --bind-address are testenv's (see
	// DataDir) and may not be given.
	APIServerFlags []string
	// DataDir holds the environment's PKI, kubeconfigs and etcd data.
	// Empty (the default) means a fresh temporary directory that Stop
	// removes; a directory given here is kept, so a later Start on it
	// reuses the certificates and stored objects (a warm start).
	DataDir string
	// Durable keeps etcd's fsync on. By default it is off, as nothing of
	// a test cluster needs to survive a machine crash and fsync is most
	// of the cost of a write.
	Durable bool
}

// WebhookInstallOptions describe admission webhooks that the test serves
// itself, with envtest's names. Start generates a CA and a serving
// certificate for LocalServingHost, writes tls.crt and tls.key (the
// names controller-runtime's webhook server reads) to
// LocalServingCertDir, points every webhook of the configurations at
// https://LocalServingHost:LocalServingPort (a webhook's service path
// is kept as the URL path), sets their caBundle to the generated CA, and
// creates the configurations before returning. Start fills the zero
// Local* fields, so the test reads them afterwards from
// Environment.WebhookInstallOptions.
type WebhookInstallOptions struct {
	// Paths are files or directories of MutatingWebhookConfiguration and
	// ValidatingWebhookConfiguration manifests; documents of other kinds
	// are skipped.
	Paths []string
	// MutatingWebhooks and ValidatingWebhooks are configurations given as
	// objects; they are copied, not changed.
	MutatingWebhooks   []*admissionregistrationv1.MutatingWebhookConfiguration
	ValidatingWebhooks []*admissionregistrationv1.ValidatingWebhookConfiguration
	// IgnoreErrorIfPathMissing skips a missing entry of Paths instead of
	// failing.
	IgnoreErrorIfPathMissing bool

	// LocalServingHost is the address the test's webhook server listens
	// on; default 127.0.0.1.
	LocalServingHost string
	// LocalServingPort is its port; 0 picks a free one.
	LocalServingPort int
	// LocalServingCertDir receives tls.crt and tls.key; empty means a
	// fresh temporary directory that Stop removes.
	LocalServingCertDir string
	// LocalServingCAData is the PEM CA that signed the serving
	// certificate (set by Start; put it in clients of the webhook).
	LocalServingCAData []byte
}

// installing reports whether any webhook configuration was given.
func (o *WebhookInstallOptions) installing() bool {
	return len(o.Paths) > 0 || len(o.MutatingWebhooks) > 0 || len(o.ValidatingWebhooks) > 0
}

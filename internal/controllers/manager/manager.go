package manager

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/certrecord"
	"github.com/kastle-dev/kastle/internal/controllers/bootstrapsigner"
	"github.com/kastle-dev/kastle/internal/controllers/csrapproving"
	"github.com/kastle-dev/kastle/internal/controllers/csrcleaner"
	"github.com/kastle-dev/kastle/internal/controllers/csrsigning"
	"github.com/kastle-dev/kastle/internal/controllers/nodelifecycle"
	"github.com/kastle-dev/kastle/internal/controllers/nsdefaults"
	"github.com/kastle-dev/kastle/internal/controllers/resourcequota"
	"github.com/kastle-dev/kastle/internal/controllers/storageprotection"
	"github.com/kastle-dev/kastle/internal/controllers/tokencleaner"
)

// Leader election defaults, as kube-controller-manager's.
const (
	DefaultLeaseNamespace = "kube-system"
	DefaultLeaseName      = "kube-controller-manager"
	DefaultLeaseDuration  = 15 * time.Second
	DefaultRenewDeadline  = 10 * time.Second
	DefaultRetryPeriod    = 2 * time.Second
)

// Config configures a controller manager.
type Config struct {
	// Client is the manager's connection (system:kube-controller-manager).
	Client *rest.Config
	// Signing configures csrsigning; without Default CA files (an external
	// CA whose key is elsewhere) no CSR is signed here.
	Signing csrsigning.Config
	// ApproveKubeletServing lets csrapproving approve kubelet serving CSRs
	// whose SANs are all addresses of the requesting Node.
	ApproveKubeletServing bool
	// CleanerInterval is how often csrcleaner looks (0: one minute).
	CleanerInterval time.Duration
	// RootCAFile is the CA bundle published to every namespace as
	// kube-root-ca.crt (--root-ca-file); empty publishes none.
	RootCAFile string
	// NodeMonitorGracePeriod is how long a node may stay silent before it
	// is marked Ready=Unknown; NodeMonitorPeriod how often nodes are
	// checked (0: 40 s and 5 s).
	NodeMonitorGracePeriod, NodeMonitorPeriod time.Duration
	// LeaderElect runs the controllers only while holding the Lease
	// LeaseNamespace/LeaseName.
	LeaderElect                  bool
	LeaseNamespace, LeaseName    string
	LeaseDuration, RenewDeadline time.Duration
	RetryPeriod                  time.Duration
	// Identity names this manager in the Lease; "" means hostname_uuid.
	Identity string
	// Workers per queue-driven controller (0: 5, as kube-controller-manager).
	Workers int
	Log     *slog.Logger
}

func (c *Config) defaults() error {
	if c.Client == nil {
		return errors.New("controller manager: a client configuration is required")
	}
	if c.Log == nil {
		return errors.New("controller manager: a logger is required")
	}
	if c.LeaseNamespace == "" {
		c.LeaseNamespace = DefaultLeaseNamespace
	}
	if c.LeaseName == "" {
		c.LeaseName = DefaultLeaseName
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = DefaultRenewDeadline
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = DefaultRetryPeriod
	}
	if c.Identity == "" {
		host, _ := os.Hostname()
		c.Identity = host + "_" + string(uuid.NewUUID())
	}
	if c.Workers <= 0 {
		c.Workers = 5
	}
	return nil
}

// Run runs the controllers until ctx ends. With leader election it
// campaigns for the Lease, runs the controllers while it leads, stops them
// when it loses the Lease, and campaigns again. Configuration errors
// (a signing CA that does not load) are returned at once.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	var signer *csrsigning.Signer
	if cfg.Signing.Default != (csrsigning.CAFiles{}) {
		var err error
		if signer, err = csrsigning.NewSigner(cfg.Signing); err != nil {
			return err
		}
	} else {
		cfg.Log.Warn("no cluster signing CA: approved CSRs will not be signed by this controller manager")
	}
	rc := rest.CopyConfig(cfg.Client)
	rc.UserAgent = "kastle-controller-manager"
	// Built-in types go as protobuf, as kube-controller-manager's
	// --kube-api-content-type default: cheaper to encode and decode on
	// both ends than JSON. The dynamic client keeps JSON.
	if rc.ContentType == "" {
		rc.ContentType = runtime.ContentTypeProtobuf
		rc.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	}
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 200, 400
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("controller manager client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("controller manager client: %w", err)
	}
	if !cfg.LeaderElect {
		return runControllers(ctx, cfg, client, dyn, signer)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaFor(cfg),
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	// The controllers of one term report a configuration error here. A
	// term's controllers stop when its context ends; the next term starts
	// only after a new acquisition (at least one retry period later).
	errCh := make(chan error, 1)
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
			ReleaseOnCancel: true, Name: cfg.LeaseName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) {
					cfg.Log.Info("leading: starting controllers", "identity", cfg.Identity, "lease", cfg.LeaseNamespace+"/"+cfg.LeaseName)
					if err := runControllers(lctx, cfg, client, dyn, signer); err != nil {
						select {
						case errCh <- err:
						default:
						}
					}
				},
				OnStoppedLeading: func() {
					if ctx.Err() == nil {
						cfg.Log.Warn("lost the lease: controllers stopped", "identity", cfg.Identity)
					}
				},
				OnNewLeader: func(id string) {
					if id != cfg.Identity {
						cfg.Log.Info("another controller manager leads", "leader", id)
					}
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		le.Run(ctx)
		select {
		case err := <-errCh:
			return err
		default:
		}
	}
	return nil
}

// runControllers starts the informers and every controller, and blocks
// until ctx ends.
func runControllers(ctx context.Context, cfg Config, client kubernetes.Interface, dyn dynamic.Interface, signer *csrsigning.Signer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	factory := informers.NewSharedInformerFactory(client, 0)
	csrs := factory.Certificates().V1().CertificateSigningRequests()
	var signing *csrsigning.Controller
	if signer != nil {
		var err error
		if signing, err = csrsigning.New(client, csrs, signer, cfg.Log.With("controller", "csrsigning")); err != nil {
			return err
		}
		signing.Record = recorder(dyn)
	}
	approving, err := csrapproving.New(client, csrs, cfg.ApproveKubeletServing, cfg.Log.With("controller", "csrapproving"))
	if err != nil {
		return err
	}
	cleaner := csrcleaner.New(client, csrs, cfg.CleanerInterval, cfg.Log.With("controller", "csrcleaner"))

	// Bootstrap tokens live in kube-system, cluster-info in kube-public:
	// narrow informers instead of watching every Secret and ConfigMap.
	tokens := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(bootstraptoken.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "type=" + string(bootstraptoken.SecretType) }))
	public := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(bootstraptoken.ClusterInfoNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + bootstraptoken.ClusterInfoName }))
	bsigner, err := bootstrapsigner.New(client, public.Core().V1().ConfigMaps(), tokens.Core().V1().Secrets(), cfg.Log.With("controller", "bootstrapsigner"))
	if err != nil {
		return err
	}
	tcleaner, err := tokencleaner.New(client, tokens.Core().V1().Secrets(), cfg.Log.With("controller", "tokencleaner"))
	if err != nil {
		return err
	}
	caPEM := ""
	if cfg.RootCAFile != "" {
		data, err := os.ReadFile(cfg.RootCAFile)
		if err != nil {
			return fmt.Errorf("--root-ca-file: %w", err)
		}
		caPEM = string(data)
	}
	rootCAs := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + nsdefaults.RootCAConfigMap }))
	defaults, err := nsdefaults.New(client, factory.Core().V1().Namespaces(), factory.Core().V1().ServiceAccounts(),
		rootCAs.Core().V1().ConfigMaps(), caPEM, cfg.Log.With("controller", "nsdefaults"))
	if err != nil {
		return err
	}
	core := factory.Core().V1()
	quotas, err := resourcequota.New(client, dyn, core.ResourceQuotas(), core.Pods(), core.Services(), core.PersistentVolumeClaims(),
		cfg.Log.With("controller", "resourcequota"))
	if err != nil {
		return err
	}
	protection, err := storageprotection.New(client, core.PersistentVolumeClaims(), core.PersistentVolumes(), core.Pods(),
		cfg.Log.With("controller", "storageprotection"))
	if err != nil {
		return err
	}
	nodeLeases := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(nodelifecycle.LeaseNamespace))
	lifecycle := nodelifecycle.New(client, factory.Core().V1().Nodes(), nodeLeases.Coordination().V1().Leases(),
		cfg.NodeMonitorGracePeriod, cfg.NodeMonitorPeriod, cfg.Log.With("controller", "nodelifecycle"))
	for _, f := range []informers.SharedInformerFactory{factory, tokens, public, nodeLeases, rootCAs} {
		f.Start(ctx.Done())
		defer f.Shutdown()
	}

	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	if signing != nil {
		run(func() { signing.Run(ctx, cfg.Workers) })
	}
	run(func() { approving.Run(ctx, cfg.Workers) })
	run(func() { cleaner.Run(ctx) })
	run(func() { bsigner.Run(ctx) })
	run(func() { tcleaner.Run(ctx) })
	run(func() { lifecycle.Run(ctx) })
	run(func() { defaults.Run(ctx, cfg.Workers) })
	run(func() { quotas.Run(ctx, cfg.Workers) })
	run(func() { protection.Run(ctx, cfg.Workers) })
	<-ctx.Done()
	wg.Wait()
	return nil
}

func metaFor(cfg Config) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: cfg.LeaseNamespace, Name: cfg.LeaseName}
}

// recorder keeps the issuance record of CSR-signed certificates as
// IssuedCertificate objects.
func recorder(dyn dynamic.Interface) func(context.Context, *certificatesv1.CertificateSigningRequest, *x509.Certificate) error {
	return func(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, cert *x509.Certificate) error {
		rec := certrecord.FromCertificate(cert)
		rec.Signer, rec.Requester, rec.CSRName, rec.Source = csr.Spec.SignerName, csr.Spec.Username, csr.Name, certrecord.SourceCSR
		_, err := dyn.Resource(certrecord.GVR).Create(ctx, rec.Object(), metav1.CreateOptions{FieldManager: "kastle-csrsigning"})
		return err
	}
}

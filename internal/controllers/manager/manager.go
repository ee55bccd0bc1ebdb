package manager

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	saauth "github.com/kastle-dev/kastle/internal/auth/serviceaccount"
	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/certrecord"
	"github.com/kastle-dev/kastle/internal/controllers/bootstrapsigner"
	"github.com/kastle-dev/kastle/internal/controllers/csrapproving"
	"github.com/kastle-dev/kastle/internal/controllers/csrcleaner"
	"github.com/kastle-dev/kastle/internal/controllers/csrsigning"
	"github.com/kastle-dev/kastle/internal/controllers/garbagecollector"
	"github.com/kastle-dev/kastle/internal/controllers/namespace"
	"github.com/kastle-dev/kastle/internal/controllers/nodelifecycle"
	"github.com/kastle-dev/kastle/internal/controllers/nsdefaults"
	"github.com/kastle-dev/kastle/internal/controllers/resourcequota"
	"github.com/kastle-dev/kastle/internal/controllers/serviceaccount"
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
	// ServiceAccountKeyFile is the private key signing legacy token
	// Secrets (--service-account-private-key-file), the key the API
	// server verifies service-account tokens with; empty leaves token
	// Secrets unfilled.
	ServiceAccountKeyFile string
	// ServerCAData verifies the API server for the clients of the
	// namespace controller and the garbage collector, which authenticate
	// as their service accounts instead of with Client's credentials
	// (see CAFromKubeconfig); empty means Client's CA.
	ServerCAData []byte
	// Controllers selects the controllers as kube-controller-manager's
	// --controllers does: "*" for every one, a name to add it, "-name"
	// to leave it out; empty means "*".
	Controllers []string
	// Workers per queue-driven controller (0: 5, as kube-controller-manager).
	Workers int
	// QPS and Burst rate-limit each of the manager's API clients
	// (--kube-api-qps, --kube-api-burst; 0: DefaultQPS, DefaultBurst; a
	// negative QPS turns the client-side limit off, as in client-go).
	// Each client has its own limiter: the typed client that every
	// controller shares, the dynamic client that creates issuance
	// records, the metadata client, and the clients of the namespace
	// controller and the garbage collector.
	QPS   float32
	Burst int
	// ContentType is what the typed clients send and prefer to receive
	// (--kube-api-content-type; "": protobuf). The dynamic and metadata
	// clients speak JSON whatever it says.
	ContentType string
	Log         *slog.Logger

	enabled map[string]bool
}

// Client defaults (--kube-api-qps, --kube-api-burst). Higher than
// kube-controller-manager's 20/30: signing a CSR takes two writes, and
// the manager also runs what kube-apiserver does in-process upstream.
const (
	DefaultQPS   = 200
	DefaultBurst = 400
)

// Controller names, as kube-controller-manager names them.
const (
	CSRSigning          = "csrsigning"
	CSRApproving        = "csrapproving"
	CSRCleaner          = "csrcleaner"
	BootstrapSigner     = "bootstrapsigner"
	TokenCleaner        = "tokencleaner"
	NodeLifecycle       = "nodelifecycle"
	ServiceAccount      = "serviceaccount"
	RootCACertPublisher = "root-ca-cert-publisher"
	ResourceQuota       = "resourcequota"
	PVCProtection       = "pvc-protection"
	PVProtection        = "pv-protection"
	Namespace           = "namespace"
	GarbageCollector    = "garbagecollector"
	ServiceAccountToken = "serviceaccount-token"
)

// ControllerNames lists every controller "*" selects. (Unlike upstream,
// bootstrapsigner and tokencleaner are on by default: kastle join relies
// on them.)
func ControllerNames() []string {
	return []string{CSRSigning, CSRApproving, CSRCleaner, BootstrapSigner, TokenCleaner, NodeLifecycle, ServiceAccount,
		RootCACertPublisher, ResourceQuota, PVCProtection, PVProtection, Namespace, GarbageCollector, ServiceAccountToken}
}

// ValidateControllers checks a --controllers list without starting
// anything, so a server refuses a misspelt name at start rather than
// logging it once its manager runs.
func ValidateControllers(list []string) error {
	_, err := selectControllers(list)
	return err
}

// selectControllers resolves a --controllers list: later entries
// override earlier ones, "*" selects every controller not named.
func selectControllers(list []string) (map[string]bool, error) {
	if len(list) == 0 {
		list = []string{"*"}
	}
	known := ControllerNames()
	named := map[string]bool{}
	star := false
	for _, e := range list {
		name, on := strings.TrimPrefix(e, "-"), !strings.HasPrefix(e, "-")
		if e == "*" {
			star = true
			continue
		}
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("--controllers: %q is not a known controller (known: %s)", name, strings.Join(known, ", "))
		}
		named[name] = on
	}
	out := map[string]bool{}
	for _, n := range known {
		on, ok := named[n]
		out[n] = on || (!ok && star)
	}
	return out, nil
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
	if err := c.clientDefaults(); err != nil {
		return err
	}
	var err error
	c.enabled, err = selectControllers(c.Controllers)
	return err
}

// Validate checks cfg's flag values (controller names, client settings)
// without starting anything, so a server refuses a bad one at start.
func Validate(cfg Config) error {
	if err := cfg.clientDefaults(); err != nil {
		return err
	}
	return ValidateControllers(cfg.Controllers)
}

// clientDefaults fills in and checks the client settings.
func (c *Config) clientDefaults() error {
	if c.QPS == 0 {
		c.QPS = DefaultQPS
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	switch c.ContentType {
	case "":
		c.ContentType = runtime.ContentTypeProtobuf
	case runtime.ContentTypeProtobuf, runtime.ContentTypeJSON:
	default:
		return fmt.Errorf("--kube-api-content-type: %q is neither %s nor %s", c.ContentType, runtime.ContentTypeProtobuf, runtime.ContentTypeJSON)
	}
	if c.Burst < 0 {
		return fmt.Errorf("--kube-api-burst %d: must not be negative", c.Burst)
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
	switch {
	case !cfg.enabled[CSRSigning]:
		// Not signing here: no CA to load.
	case cfg.Signing.Default != (csrsigning.CAFiles{}):
		var err error
		if signer, err = csrsigning.NewSigner(cfg.Signing); err != nil {
			return err
		}
	default:
		cfg.Log.Warn("no cluster signing CA: approved CSRs will not be signed by this controller manager")
	}
	rc := rest.CopyConfig(cfg.Client)
	rc.UserAgent = "kastle-controller-manager"
	// Built-in types go as protobuf by default, as with
	// kube-controller-manager's --kube-api-content-type: cheaper to
	// encode and decode on both ends than JSON. The dynamic client keeps
	// JSON.
	rc.ContentType = cfg.ContentType
	if cfg.ContentType == runtime.ContentTypeProtobuf {
		rc.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	}
	rc.QPS, rc.Burst = cfg.QPS, cfg.Burst
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("controller manager client: %w", err)
	}
	cl := clients{rc: rc, kube: client}
	if cl.dyn, err = dynamic.NewForConfig(rc); err != nil {
		return fmt.Errorf("controller manager client: %w", err)
	}
	if cl.meta, err = metadata.NewForConfig(rc); err != nil {
		return fmt.Errorf("controller manager client: %w", err)
	}
	// Issuance records go through a plain JSON client with a rate limit
	// of its own (as they had through the dynamic client): it posts the
	// record and reads no object back.
	if cl.records, err = rest.UnversionedRESTClientFor(dynamic.ConfigFor(rc)); err != nil {
		return fmt.Errorf("controller manager client: %w", err)
	}
	var legacy *saauth.Issuer
	switch {
	case !cfg.enabled[ServiceAccountToken]:
	case cfg.ServiceAccountKeyFile == "":
		cfg.Log.Warn("no --service-account-private-key-file: legacy service-account token Secrets will not be filled")
	default:
		key, err := saauth.LoadSigningKeyFile(cfg.ServiceAccountKeyFile)
		if err != nil {
			return fmt.Errorf("--service-account-private-key-file: %w", err)
		}
		if legacy, err = saauth.NewLegacyIssuer(key); err != nil {
			return fmt.Errorf("--service-account-private-key-file: %w", err)
		}
	}
	if !cfg.LeaderElect {
		return runControllers(ctx, cfg, cl, signer, legacy)
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
					if err := runControllers(lctx, cfg, cl, signer, legacy); err != nil {
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

// clients are the manager's connections to the API server.
type clients struct {
	rc   *rest.Config
	kube kubernetes.Interface
	dyn  dynamic.Interface
	meta metadata.Interface
	// records creates IssuedCertificates.
	records rest.Interface
}

// runControllers starts the informers and every enabled controller, and
// blocks until ctx ends.
func runControllers(ctx context.Context, cfg Config, cl clients, signer *csrsigning.Signer, legacy *saauth.Issuer) error {
	ctx, cancel := context.WithCancel(ctx)
	// On the way out (ctx ended, or a controller failed to build after
	// the CSR controllers started): stop everything, then wait for it.
	var wg sync.WaitGroup
	var started []informers.SharedInformerFactory
	defer func() {
		cancel()
		for _, f := range started {
			f.Shutdown()
		}
		wg.Wait()
	}()
	client, on := cl.kube, cfg.enabled
	var runs []func()
	add := func(name string, f func()) {
		if on[name] {
			runs = append(runs, f)
		}
	}
	// The CSR controllers go first with a factory of their own: its
	// informer starts before anything else is built, and the other
	// informers (and the garbage collector's discovery) start only once
	// it has listed, so approved CSRs are not kept waiting behind the
	// rest of the start-up.
	csrFactory := informers.NewSharedInformerFactory(client, 0)
	csrs := csrFactory.Certificates().V1().CertificateSigningRequests()
	if signer != nil && on[CSRSigning] {
		signing, err := csrsigning.New(client, csrs, signer, cfg.Log.With("controller", CSRSigning))
		if err != nil {
			return err
		}
		signing.Record = recorder(cl.records)
		add(CSRSigning, func() { signing.Run(ctx, cfg.Workers) })
	}
	if on[CSRApproving] {
		approving, err := csrapproving.New(client, csrs, cfg.ApproveKubeletServing, cfg.Log.With("controller", CSRApproving))
		if err != nil {
			return err
		}
		add(CSRApproving, func() { approving.Run(ctx, cfg.Workers) })
	}
	if on[CSRCleaner] {
		cleaner := csrcleaner.New(client, csrs, cfg.CleanerInterval, cfg.Log.With("controller", CSRCleaner))
		add(CSRCleaner, func() { cleaner.Run(ctx) })
	}
	runAll := func() {
		for _, f := range runs {
			wg.Add(1)
			go func() { defer wg.Done(); f() }()
		}
		runs = nil
	}
	// With a CSR controller enabled the informer exists and starts now.
	csrsUsed := len(runs) > 0
	csrFactory.Start(ctx.Done())
	started = append(started, csrFactory)
	runAll()

	factory := informers.NewSharedInformerFactory(client, 0)
	core := factory.Core().V1()

	// Bootstrap tokens live in kube-system, cluster-info in kube-public:
	// narrow informers instead of watching every Secret and ConfigMap.
	tokens := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(bootstraptoken.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "type=" + string(bootstraptoken.SecretType) }))
	public := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(bootstraptoken.ClusterInfoNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + bootstraptoken.ClusterInfoName }))
	if on[BootstrapSigner] {
		bsigner, err := bootstrapsigner.New(client, public.Core().V1().ConfigMaps(), tokens.Core().V1().Secrets(), cfg.Log.With("controller", BootstrapSigner))
		if err != nil {
			return err
		}
		add(BootstrapSigner, func() { bsigner.Run(ctx) })
	}
	if on[TokenCleaner] {
		tcleaner, err := tokencleaner.New(client, tokens.Core().V1().Secrets(), cfg.Log.With("controller", TokenCleaner))
		if err != nil {
			return err
		}
		add(TokenCleaner, func() { tcleaner.Run(ctx) })
	}
	var caPEM []byte
	if cfg.RootCAFile != "" {
		var err error
		if caPEM, err = os.ReadFile(cfg.RootCAFile); err != nil {
			return fmt.Errorf("--root-ca-file: %w", err)
		}
	}
	rootCAs := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + nsdefaults.RootCAConfigMap }))
	if on[ServiceAccount] || on[RootCACertPublisher] {
		published := ""
		if on[RootCACertPublisher] {
			published = string(caPEM)
		}
		defaults, err := nsdefaults.New(client, core.Namespaces(), core.ServiceAccounts(), rootCAs.Core().V1().ConfigMaps(),
			on[ServiceAccount], published, cfg.Log.With("controller", "nsdefaults"))
		if err != nil {
			return err
		}
		runs = append(runs, func() { defaults.Run(ctx, cfg.Workers) })
	}
	if on[ResourceQuota] {
		quotas, err := resourcequota.New(client, cl.dyn, core.ResourceQuotas(), core.Pods(), core.Services(), core.PersistentVolumeClaims(),
			cfg.Log.With("controller", ResourceQuota))
		if err != nil {
			return err
		}
		add(ResourceQuota, func() { quotas.Run(ctx, cfg.Workers) })
	}
	if on[PVCProtection] || on[PVProtection] {
		protection, err := storageprotection.New(client, core.PersistentVolumeClaims(), core.PersistentVolumes(), core.Pods(),
			cfg.Log.With("controller", "storageprotection"))
		if err != nil {
			return err
		}
		runs = append(runs, func() { protection.Run(ctx, cfg.Workers) })
	}
	nodeLeases := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(nodelifecycle.LeaseNamespace))
	if on[NodeLifecycle] {
		lifecycle := nodelifecycle.New(client, core.Nodes(), nodeLeases.Coordination().V1().Leases(),
			cfg.NodeMonitorGracePeriod, cfg.NodeMonitorPeriod, cfg.Log.With("controller", NodeLifecycle))
		add(NodeLifecycle, func() { lifecycle.Run(ctx) })
	}
	// The two controllers that delete anything act as their own service
	// accounts.
	if on[Namespace] {
		sc, sm, err := serviceAccountClients(cl, cfg.ServerCAData, ServiceAccountNamespaceController)
		if err != nil {
			return err
		}
		nsc, err := namespace.New(sc, sm, core.Namespaces(), cfg.Log.With("controller", Namespace))
		if err != nil {
			return err
		}
		add(Namespace, func() { nsc.Run(ctx, cfg.Workers) })
	}
	if on[GarbageCollector] {
		sc, sm, err := serviceAccountClients(cl, cfg.ServerCAData, ServiceAccountGarbageCollector)
		if err != nil {
			return err
		}
		gc := garbagecollector.New(sc, sm, cfg.Log.With("controller", GarbageCollector))
		add(GarbageCollector, func() { gc.Run(ctx, cfg.Workers) })
	}
	// Token Secrets only: a narrow informer, not every Secret.
	saTokens := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = serviceaccount.SecretFieldSelector }))
	if legacy != nil && on[ServiceAccountToken] {
		tc, err := serviceaccount.New(client, saTokens.Core().V1().Secrets(), core.ServiceAccounts(), legacy, caPEM,
			cfg.Log.With("controller", ServiceAccountToken))
		if err != nil {
			return err
		}
		add(ServiceAccountToken, func() { tc.Run(ctx, cfg.Workers) })
	}
	if csrsUsed {
		// Bounded: a slow CSR list must not hold the others back long.
		wctx, wcancel := context.WithTimeout(ctx, csrHeadStart)
		cache.WaitFor(wctx, "", csrs.Informer().HasSyncedChecker())
		wcancel()
	}
	// Factories start only the informers a controller asked for.
	for _, f := range []informers.SharedInformerFactory{factory, tokens, public, nodeLeases, rootCAs, saTokens} {
		f.Start(ctx.Done())
		started = append(started, f)
	}
	runAll()
	<-ctx.Done()
	return nil
}

// csrHeadStart bounds how long the other controllers wait for the CSR
// informer's first list before they start anyway.
const csrHeadStart = 2 * time.Second

// serviceAccountClients returns clients acting as kube-system/name.
func serviceAccountClients(cl clients, caData []byte, name string) (kubernetes.Interface, metadata.Interface, error) {
	sa := serviceAccountConfig(cl.rc, caData, cl.kube, name)
	kube, err := kubernetes.NewForConfig(sa)
	if err != nil {
		return nil, nil, fmt.Errorf("%s client: %w", name, err)
	}
	meta, err := metadata.NewForConfig(sa)
	if err != nil {
		return nil, nil, fmt.Errorf("%s client: %w", name, err)
	}
	return kube, meta, nil
}

func metaFor(cfg Config) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: cfg.LeaseNamespace, Name: cfg.LeaseName}
}

// recorder keeps the issuance record of CSR-signed certificates as
// IssuedCertificate objects. Only the outcome of the create matters, so
// the created object the server returns is not decoded.
func recorder(client rest.Interface) func(context.Context, *certificatesv1.CertificateSigningRequest, *x509.Certificate) error {
	return func(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, cert *x509.Certificate) error {
		rec := certrecord.FromCertificate(cert)
		rec.Signer, rec.Requester, rec.CSRName, rec.Source = csr.Spec.SignerName, csr.Spec.Username, csr.Name, certrecord.SourceCSR
		body, err := rec.Object().MarshalJSON()
		if err != nil {
			return err
		}
		return client.Post().AbsPath("/apis", certrecord.Group, certrecord.Version, certrecord.Resource).
			Param("fieldManager", "kastle-csrsigning").Body(body).Do(ctx).Error()
	}
}

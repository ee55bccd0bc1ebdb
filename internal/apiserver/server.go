package apiserver

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kastle-dev/kastle/internal/apiserver/filters"
	"github.com/kastle-dev/kastle/internal/audit"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/controllers/csrsigning"
	"github.com/kastle-dev/kastle/internal/controllers/manager"
	"github.com/kastle-dev/kastle/internal/pki"
	"github.com/kastle-dev/kastle/internal/pki/kubeconfig"
	"github.com/kastle-dev/kastle/internal/servicealloc"
	"github.com/kastle-dev/kastle/internal/storage/embedded"
)

// Config is the server's configuration, bound to flags by the CLI.
type Config struct {
	DataDir     string
	SecurePort  int
	BindAddress string
	ExtraSANs   []string
	// EtcdServers selects an external etcd; empty runs an embedded one in
	// DataDir/etcd.
	EtcdServers                              []string
	EtcdCAFile, EtcdCertFile, EtcdKeyFile    string
	EtcdPrefix                               string
	EtcdCompactionInterval                   time.Duration
	MaxRequestsInFlight, MaxMutatingInFlight int
	MinRequestTimeout                        time.Duration
	ShutdownTimeout                          time.Duration
	// InsecurePort serves plain HTTP on 127.0.0.1 with every request
	// made as system:unsecured in system:masters (seed 004's insecure
	// port); 0, the default, serves nothing.
	InsecurePort int
	// Profiling serves /debug/pprof (kube-apiserver's --profiling).
	Profiling bool
	// TLSCertFile and TLSPrivateKeyFile replace the generated serving
	// certificate; ClientCAFile replaces the cluster CA as the trust for
	// client certificates. All three are re-read when they change.
	TLSCertFile, TLSPrivateKeyFile, ClientCAFile string
	// TLSMinVersion is VersionTLS12 (default) or VersionTLS13;
	// TLSCipherSuites restricts TLS 1.2 suites (IANA names).
	TLSMinVersion   string
	TLSCipherSuites []string
	// AnonymousAuth lets requests without credentials in as
	// system:anonymous (then limited by authorization).
	AnonymousAuth bool
	// RequestTimeout bounds every request but watches.
	RequestTimeout time.Duration
	// EnableAdmissionPlugins and DisableAdmissionPlugins adjust the
	// default admission chain.
	EnableAdmissionPlugins, DisableAdmissionPlugins []string
	// AuditLogPath turns auditing on ("-" writes to stdout) with
	// AuditPolicyFile (required then); the log rotates at AuditLogMaxSize
	// MB, keeping AuditLogMaxBackup files for AuditLogMaxAge days.
	AuditLogPath, AuditPolicyFile                      string
	AuditLogMaxSize, AuditLogMaxBackup, AuditLogMaxAge int
	// EncryptionProviderConfig encrypts the configured resources at rest.
	EncryptionProviderConfig string
	// AuthorizationModes is the ordered authorizer chain: Node, RBAC,
	// AlwaysAllow, AlwaysDeny.
	AuthorizationModes []string
	// TokenAuthFile and BasicAuthFile are CSV credential files (reloaded
	// on change); ClientCertRevocationFile revokes client certificates
	// (a CRL or a list of serials, reloaded on change).
	TokenAuthFile, BasicAuthFile, ClientCertRevocationFile string
	// EnableBootstrapTokenAuth accepts kube-system bootstrap tokens.
	EnableBootstrapTokenAuth bool
	// Service-account tokens: verification keys (default pki/sa.pub),
	// signing key (default pki/sa.key), issuer, audiences (default: the
	// issuer), and whether to require the ServiceAccount to exist.
	ServiceAccountKeyFiles       []string
	ServiceAccountSigningKeyFile string
	ServiceAccountIssuer         string
	APIAudiences                 []string
	ServiceAccountLookup         bool
	// RunControllers runs the controller manager in-process (the CSR
	// controllers), as system:kube-controller-manager through
	// controller-manager.conf; Controllers configures it (its client and
	// logger are set here; empty signing files mean pki/ca.crt and ca.key).
	RunControllers bool
	Controllers    manager.Config
	// KubeletClientCertificate and KubeletClientKey authenticate the API
	// server to node agents (default: pki/apiserver-kubelet-client.*);
	// KubeletCertificateAuthority verifies their serving certificates
	// (default: the cluster CA).
	KubeletClientCertificate, KubeletClientKey, KubeletCertificateAuthority string
	// CertificateValidity is the lifetime of the control plane's leaf
	// certificates (0: one year); they are renewed at 70-90 % of it.
	CertificateValidity time.Duration
	// ServiceClusterIPRange and ServiceNodePortRange are where Services'
	// cluster IPs and node ports come from (kube-apiserver's flags and
	// defaults); AdvertiseAddress is the address the `kubernetes`
	// Service's endpoints name (default: the bind address, or this host's
	// first global unicast address when binding to all).
	ServiceClusterIPRange, ServiceNodePortRange, AdvertiseAddress string
	// API aggregation and front-proxy authentication (kube-apiserver's
	// --requestheader-* and --proxy-client-* flags). An empty CA file or
	// proxy pair means the PKI's front-proxy-ca / front-proxy-client,
	// made on first start; header lists default to X-Remote-User,
	// X-Remote-Group and X-Remote-Extra-.
	RequestHeaderClientCAFile       string
	RequestHeaderAllowedNames       []string
	RequestHeaderUsernameHeaders    []string
	RequestHeaderGroupHeaders       []string
	RequestHeaderExtraHeadersPrefix []string
	ProxyClientCertFile             string
	ProxyClientKeyFile              string
	// EnableAggregatorRouting sends aggregated requests to an endpoint of
	// the APIService's Service; false dials its cluster IP (which needs a
	// service proxy on this host).
	EnableAggregatorRouting bool
	Log                     *slog.Logger

	// EtcdUnsafeNoFsync makes the embedded etcd skip fsync: a crash can
	// lose writes, so only throwaway data dirs (pkg/testenv, --ephemeral)
	// set it.
	EtcdUnsafeNoFsync bool

	// EtcdDefragmentThreshold is the free fraction of the embedded etcd's
	// file above which it is defragmented after a compaction (0: never).
	// The default, 0.75, leaves alone the ~50 % that a steady write load
	// frees and reuses every interval (a defragmentation would pause its
	// writes for nothing) and catches what a burst of deletes leaves.
	EtcdDefragmentThreshold float64

	// etcdProgressUnsafe is set by Run when an external etcd predates the
	// progress notification fix: consistent reads then go to etcd.
	etcdProgressUnsafe bool
}

// DefaultConfig returns kube-apiserver's defaults.
func DefaultConfig() Config {
	return Config{
		SecurePort: 6443, BindAddress: "127.0.0.1", EtcdPrefix: "/registry", EtcdDefragmentThreshold: 0.75,
		EtcdCompactionInterval: 5 * time.Minute,
		MaxRequestsInFlight:    400, MaxMutatingInFlight: 200,
		MinRequestTimeout: 30 * time.Minute, ShutdownTimeout: 30 * time.Second,
		AnonymousAuth: true, RequestTimeout: time.Minute,
		AuthorizationModes:       []string{"Node", "RBAC"},
		EnableBootstrapTokenAuth: true, ServiceAccountIssuer: DefaultServiceAccountIssuer,
		RunControllers:          true,
		ServiceAccountLookup:    true,
		ServiceClusterIPRange:   servicealloc.DefaultServiceCIDR,
		ServiceNodePortRange:    servicealloc.DefaultNodePortRange,
		EnableAggregatorRouting: true,
	}
}

// Run starts the server and blocks until ctx ends, then shuts down:
// stop accepting, finish in-flight requests, close watches, stop etcd.
// ready, if non-nil, receives the server URL once it serves.
func Run(ctx context.Context, cfg Config, ready func(url, kubeconfigPath string)) error {
	log := cfg.Log
	if log == nil {
		return errors.New("apiserver: a logger is required")
	}
	if cfg.DataDir == "" {
		return errors.New("apiserver: --data-dir is required")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data dir: %w", err)
	}
	if t := cfg.EtcdDefragmentThreshold; t < 0 || t > 1 {
		return fmt.Errorf("--etcd-defragment-threshold %v is not a fraction between 0 and 1", t)
	}
	ip := net.ParseIP(cfg.BindAddress)
	if ip == nil {
		return fmt.Errorf("--bind-address %q is not an IP address", cfg.BindAddress)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.SecurePort)))
	if err != nil {
		return fmt.Errorf("listening on the secure port: %w", err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	host := cfg.BindAddress
	if ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	url := "https://" + net.JoinHostPort(host, strconv.Itoa(port))

	// PKI and etcd start side by side: both are slow-ish and independent.
	type pkiResult struct {
		p   *pki.ServerPKI
		err error
	}
	pkiCh := make(chan pkiResult, 1)
	if cfg.RunControllers {
		if err := manager.Validate(cfg.Controllers); err != nil {
			return err
		}
	}
	pc, err := ServingPKIConfig(cfg)
	if err != nil {
		return err
	}
	go func() {
		p, err := pki.EnsureServerPKI(pc)
		pkiCh <- pkiResult{p, err}
	}()
	client, member, closeEtcd, err := startEtcd(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeEtcd()
	if member == nil {
		// The watch cache serves consistent reads only when etcd's progress
		// notifications follow its events (as kube-apiserver checks).
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		safe, version, err := embedded.ProgressNotifySafe(sctx, client)
		cancel()
		if err != nil || !safe {
			cfg.etcdProgressUnsafe = true
			log.Warn("consistent reads go to etcd, not the watch cache: etcd before 3.4.31 or 3.5.13 may send watch progress notifications ahead of events",
				"etcdVersion", version, "err", err)
		}
	}
	pr := <-pkiCh
	if pr.err != nil {
		return pr.err
	}
	kcPath, err := kubeconfig.EnsureFor(pki.CertAdmin, cfg.DataDir, url, pr.p.CA, "", cfg.CertificateValidity)
	if err != nil {
		return err
	}
	// The controller manager's kubeconfig, for the in-process one and for
	// `kastle controller-manager --kubeconfig`.
	cmPath, err := kubeconfig.EnsureFor(pki.CertControllerManager, cfg.DataDir, url, pr.p.CA, "", cfg.CertificateValidity)
	if err != nil {
		return err
	}
	etcdCtx, stopCompactor := context.WithCancel(context.Background())
	defer stopCompactor()
	embedded.StartCompactor(etcdCtx, client, cfg.EtcdCompactionInterval, log, defragmenter(member, cfg.EtcdDefragmentThreshold, log))

	auditFilter, closeAudit, err := newAuditFilter(cfg, log)
	if err != nil {
		return err
	}
	defer closeAudit()
	srv, err := newServer(cfg, client, log)
	if err != nil {
		return err
	}
	defer srv.stop()
	kubelet := kubeletFiles{cert: cfg.KubeletClientCertificate, key: cfg.KubeletClientKey, ca: cfg.KubeletCertificateAuthority}
	if (kubelet.cert == "") != (kubelet.key == "") {
		return errors.New("--kubelet-client-certificate and --kubelet-client-key go together")
	}
	if kubelet.cert == "" {
		if kubelet.cert, kubelet.key, kubelet.spec, err = ensureKubeletClient(pr.p, cfg.CertificateValidity); err != nil {
			return err
		}
		kubelet.generated = true
	}
	if kubelet.ca == "" {
		kubelet.ca = pr.p.CAFile
	}
	if srv.resources.Proxy, err = newNodeProxy(srv, kubelet.cert, kubelet.key, kubelet.ca); err != nil {
		return err
	}
	if err := srv.bootstrap(ctx); err != nil {
		return err
	}
	if err := srv.bootstrapMore(ctx); err != nil {
		return err
	}
	advertise, err := AdvertiseAddress(cfg.AdvertiseAddress, cfg.BindAddress)
	if err != nil {
		return err
	}
	if err := srv.ensureRecordCRD(ctx); err != nil {
		return err
	}
	// Authentication comes before the controllers: the token controller
	// signs with its issuer.
	minVersion, err := parseTLSMinVersion(cfg.TLSMinVersion)
	if err != nil {
		return err
	}
	ciphers, err := parseCipherSuites(cfg.TLSCipherSuites)
	if err != nil {
		return err
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSPrivateKeyFile == "") {
		return errors.New("--tls-cert-file and --tls-private-key-file go together")
	}
	// The generated serving pair is followed like --tls-cert-file: its
	// renewal is picked up on the next handshake.
	certFile, keyFile := cfg.TLSCertFile, cfg.TLSPrivateKeyFile
	if certFile == "" {
		certFile, keyFile = pr.p.ServingCertFile, pr.p.ServingKeyFile
	}
	files := &servingFiles{certFile: certFile, keyFile: keyFile, caFile: pr.p.CAFile,
		onError: func(err error) { log.Error("reloading serving files", "err", err) }}
	if cfg.ClientCAFile != "" {
		files.caFile = cfg.ClientCAFile
	}
	if err := files.load(); err != nil {
		return err
	}
	if files.cert == nil {
		files.cert = &pr.p.ServingCert
	}
	base := &tls.Config{
		MinVersion:   minVersion,
		CipherSuites: ciphers,
		// Request but do not verify in the handshake: the x509
		// authenticator verifies, so a bad certificate is a 401 Status
		// (and revocation applies), not a dropped connection.
		ClientAuth: tls.RequestClientCert,
		NextProtos: []string{"h2", "http/1.1"},
	}
	fp, err := ensureFrontProxy(cfg, pr.p)
	if err != nil {
		return err
	}
	rhAuth, rhCA, err := srv.requestHeaderAuth(fp)
	if err != nil {
		return err
	}
	handshake := &handshakeCAs{requestHeader: rhCA}
	tlsCfg := base.Clone()
	tlsCfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		cert, pool := files.current()
		c := base.Clone()
		c.Certificates, c.ClientCAs = []tls.Certificate{*cert}, handshake.pool(pool)
		return c, nil
	}
	auth, err := srv.newAuthentication(cfg, files, pr.p.Dir, rhAuth)
	if err != nil {
		return err
	}
	if err := srv.newAggregator(fp, srv.recheckAPIServices); err != nil {
		return err
	}
	srv.reviews.auth = auth

	ctrlCtx, stopControllers := context.WithCancel(context.Background())
	defer stopControllers()
	if err := srv.startCRDController(ctrlCtx); err != nil {
		return err
	}
	srv.startMoreControllers(ctrlCtx)
	srv.publishExtensionAuth(ctrlCtx, files.caFile, rhCA, fp)
	if err := srv.startAuthorization(ctrlCtx); err != nil {
		return err
	}
	own := map[string]*x509.Certificate{}
	if kubelet.generated {
		if c, err := readCertFile(kubelet.cert); err == nil {
			own[pki.CertAPIServerKubeletClient] = c
		}
	}
	if pr.p.Serving != nil {
		own[pki.CertAPIServer] = pr.p.Serving.Cert
	}
	for row, path := range map[string]string{pki.CertAdmin: kcPath, pki.CertControllerManager: cmPath} {
		if c, err := kubeconfig.ClientCert(path); err == nil {
			own[row] = c
		}
	}
	srv.recordCertificates(ctx, own)
	go srv.services.Run(ctrlCtx, servicealloc.RepairInterval, srv.listServices)
	srv.startKubernetesService(ctrlCtx, advertise, port)
	handler := filters.Chain(srv.mux(), filters.Config{
		Log: log, Authenticator: auth.request, Authorizer: srv.authorizer,
		MaxRequestsInFlight: cfg.MaxRequestsInFlight, MaxMutatingInFlight: cfg.MaxMutatingInFlight,
		Metrics: srv.metrics, RequestTimeout: cfg.RequestTimeout, Audit: auditFilter,
	})
	hs := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.Background() },
	}
	errCh := make(chan error, 2)
	go func() { errCh <- hs.Serve(tls.NewListener(ln, tlsCfg)) }()
	if cfg.InsecurePort != 0 {
		insecure, err := srv.serveInsecure(cfg, filters.Config{
			Log: log, Authenticator: unsecuredUser{}, Authorizer: srv.authorizer,
			MaxRequestsInFlight: cfg.MaxRequestsInFlight, MaxMutatingInFlight: cfg.MaxMutatingInFlight,
			Metrics: srv.metrics, RequestTimeout: cfg.RequestTimeout, Audit: auditFilter,
		}, errCh)
		if err != nil {
			return err
		}
		defer insecure.Close()
	}
	srv.startRenewal(ctrlCtx, cfg, pr.p, kcPath, cmPath, kubelet)
	var cmDone <-chan struct{}
	if cfg.RunControllers {
		if cmDone, err = startControllerManager(ctrlCtx, cfg, cmPath, pr.p, log); err != nil {
			return err
		}
	}
	srv.ready.Store(true)
	log.Info("kastle API server ready", "url", url, "kubeconfig", kcPath)
	// Start-up leaves garbage (schema parsing, OpenAPI, first-start
	// objects) that the runtime would return to the OS only slowly: give
	// it back now, off the serving path.
	go debug.FreeOSMemory()
	if ready != nil {
		ready(url, kcPath)
	}
	select {
	case <-ctx.Done():
	case err := <-errCh:
		return fmt.Errorf("serving: %w", err)
	}
	log.Info("shutting down")
	srv.ready.Store(false)
	// The controller manager is a client of this server: stop it while the
	// server still answers, or its informers would back off against a
	// closed port for up to 30 s, past Run's return (client-go's retry
	// sleep does not watch the context).
	stopControllers()
	if cmDone != nil {
		select {
		case <-cmDone:
		case <-time.After(cfg.ShutdownTimeout):
			log.Warn("the controller manager did not stop in time")
		}
	}
	close(srv.done) // ends watches so Shutdown need not wait for them
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		// A connection whose TLS handshake was still running when the
		// shutdown began is never told to go away: close what is left.
		log.Warn("shutdown did not finish cleanly: closing the remaining connections", "err", err)
		_ = hs.Close()
	}
	return nil
}

// startEtcd connects to the external etcd, or starts the embedded one
// (then also returned: nil for an external etcd).
func startEtcd(ctx context.Context, cfg Config) (*clientv3.Client, *embedded.Server, func(), error) {
	if len(cfg.EtcdServers) > 0 {
		c, err := embedded.NewClient(embedded.ClientConfig{Endpoints: cfg.EtcdServers, CAFile: cfg.EtcdCAFile, CertFile: cfg.EtcdCertFile, KeyFile: cfg.EtcdKeyFile})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("connecting to etcd %v: %w", cfg.EtcdServers, err)
		}
		return c, nil, func() { _ = c.Close() }, nil
	}
	e, err := embedded.Start(ctx, embedded.Config{Dir: filepath.Join(cfg.DataDir, "etcd"), UnsafeNoFsync: cfg.EtcdUnsafeNoFsync})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("starting embedded etcd: %w", err)
	}
	return e.Client(), e, func() { _ = e.Close() }, nil
}

// defragmenter returns what runs after each compaction: a
// defragmentation of the embedded member's file once threshold of it is
// free space. An external etcd is its operators' to defragment (nil).
func defragmenter(member *embedded.Server, threshold float64, log *slog.Logger) func(context.Context) {
	if member == nil || threshold <= 0 {
		return nil
	}
	return func(context.Context) {
		r, err := member.MaybeDefragment(embedded.DefragPolicy{FreeFraction: threshold})
		switch {
		case err != nil:
			log.Warn("defragmenting etcd", "err", err)
		case r.Defragmented:
			log.Info("defragmented etcd", "bytesBefore", r.Size, "bytesAfter", r.After, "took", r.Took)
		}
	}
}

// newAuditFilter builds the audit filter of the chain: an explicit
// pass-through when auditing is off.
func newAuditFilter(cfg Config, log *slog.Logger) (func(http.Handler) http.Handler, func(), error) {
	if cfg.AuditLogPath == "" {
		if cfg.AuditPolicyFile != "" {
			return nil, nil, errors.New("--audit-policy-file needs --audit-log-path")
		}
		return func(h http.Handler) http.Handler { return h }, func() {}, nil
	}
	if cfg.AuditPolicyFile == "" {
		return nil, nil, errors.New("--audit-log-path needs --audit-policy-file")
	}
	policy, err := audit.LoadPolicy(cfg.AuditPolicyFile)
	if err != nil {
		return nil, nil, err
	}
	var out io.Writer = os.Stdout
	closeOut := func() {}
	if cfg.AuditLogPath != "-" {
		fw, err := audit.OpenFile(audit.FileConfig{
			Path: cfg.AuditLogPath, MaxSize: int64(cfg.AuditLogMaxSize) << 20,
			MaxBackups: cfg.AuditLogMaxBackup, MaxAge: time.Duration(cfg.AuditLogMaxAge) * 24 * time.Hour,
			Now: time.Now,
		})
		if err != nil {
			return nil, nil, err
		}
		out, closeOut = fw, func() { _ = fw.Close() }
	}
	a, err := audit.NewAuditor(audit.Config{Policy: policy, Out: out, Now: time.Now, Log: log})
	if err != nil {
		closeOut()
		return nil, nil, err
	}
	return func(h http.Handler) http.Handler { return audit.WithAudit(h, a) }, closeOut, nil
}

// serveInsecure opens the old insecure port: loopback only, no TLS, every
// request an administrator's. It exists for tools of seed 004's era.
func (s *server) serveInsecure(cfg Config, fc filters.Config, errCh chan<- error) (*http.Server, error) {
	if cfg.InsecurePort < 0 || cfg.InsecurePort > 65535 {
		return nil, fmt.Errorf("--insecure-port %d is out of range", cfg.InsecurePort)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.InsecurePort)))
	if err != nil {
		return nil, fmt.Errorf("listening on the insecure port: %w", err)
	}
	s.log.Warn("serving the insecure port: every request there is made as system:unsecured (system:masters)", "address", ln.Addr().String())
	hs := &http.Server{Handler: filters.Chain(s.mux(), fc), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errCh <- err
		}
	}()
	return hs, nil
}

// unsecuredUser is the identity of every insecure-port request.
type unsecuredUser struct{}

// Authenticate implements authn.Authenticator.
func (unsecuredUser) Authenticate(*http.Request) (*user.Info, bool, error) {
	return &user.Info{Name: "system:unsecured", Groups: []string{"system:masters", "system:authenticated"}}, true, nil
}

// startControllerManager runs the controller manager in-process, talking
// to this server through controller-manager.conf like an out-of-process
// one would, so both paths are the same code.
// The returned channel is closed when it has stopped (after ctx ends).
func startControllerManager(ctx context.Context, cfg Config, path string, p *pki.ServerPKI, log *slog.Logger) (<-chan struct{}, error) {
	// Follow the file: the renewer replaces its certificate.
	rc, err := kubeconfig.RotatingConfig(ctx, path, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	mc := cfg.Controllers
	mc.Client, mc.Log = rc, log.With("component", "controller-manager")
	if mc.ServerCAData, err = manager.CAFromKubeconfig(path); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if mc.Signing.Default == (csrsigning.CAFiles{}) && p.CA.Key != nil {
		mc.Signing.Default = csrsigning.CAFiles{CertFile: p.CAFile, KeyFile: p.CAKeyFile}
	}
	if mc.RootCAFile == "" {
		mc.RootCAFile = p.CAFile
	}
	if mc.ServiceAccountKeyFile == "" {
		// The key this server verifies service-account tokens with.
		mc.ServiceAccountKeyFile = cfg.ServiceAccountSigningKeyFile
		if mc.ServiceAccountKeyFile == "" {
			mc.ServiceAccountKeyFile = filepath.Join(p.Dir, pki.ServiceAccountKeyFile)
		}
	}
	if mc.Identity == "" {
		// Stable across restarts of this server: a restarted server takes
		// its own lease back at once instead of waiting for it to expire.
		host, _ := os.Hostname()
		sum := sha256.Sum256([]byte(cfg.DataDir + "|" + cfg.BindAddress))
		mc.Identity = fmt.Sprintf("%s_%x", host, sum[:6])
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := manager.Run(ctx, mc); err != nil {
			log.Error("controller manager stopped", "err", err)
		}
		// Its requests are over: close its connection now. Left open, the
		// server's shutdown waits a second for it to act on GOAWAY.
		if t, ok := rc.Transport.(interface{ CloseIdleConnections() }); ok {
			t.CloseIdleConnections()
		}
	}()
	return done, nil
}

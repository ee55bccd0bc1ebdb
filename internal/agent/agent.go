package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Agent is one running node agent. Create it with Start.
type Agent struct {
	cfg     *Config
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics

	conn       connection
	clientTr   *rotatingTransport
	cs         kubernetes.Interface
	clientCert *certStore
	servCert   *certStore
	serving    certHolder

	// registered is closed once the Node exists with its addresses, which
	// an approver of serving CSRs may check the SANs against.
	registered chan struct{}

	port atomic.Int32 // the API's port once it serves, for the Node's status

	mu   sync.Mutex
	url  string
	wg   sync.WaitGroup
	errc chan error
}

// Start brings the agent up to the point where it has a client identity
// (bootstrapping one if needed; see the package documentation), then
// starts heartbeats, rotation and the API in the background until ctx
// ends. Wait returns when they have stopped.
func Start(ctx context.Context, cfg *Config, log *slog.Logger) (*Agent, error) {
	a := &Agent{cfg: cfg, log: log.With("node", cfg.NodeName), now: time.Now, metrics: newMetrics(),
		errc: make(chan error, 1), registered: make(chan struct{})}
	a.clientCert = &certStore{dir: cfg.PKIDir(), prefix: ClientCertPrefix, now: a.now}
	a.servCert = &certStore{dir: cfg.PKIDir(), prefix: ServerCertPrefix, now: a.now}
	conn, pair, err := loadIdentity(cfg, a.now())
	if reason := err; errors.Is(err, errNeedBootstrap) {
		a.log.Info("starting TLS bootstrap", "reason", reason, "bootstrapKubeconfig", cfg.BootstrapKubeconfig)
		conn, pair, err = bootstrap(ctx, cfg, a.clientCert, a.log)
		a.metrics.rotations.WithLabelValues("client", result(err)).Inc()
		if err != nil {
			err = fmt.Errorf("%w (bootstrapping because of %v)", err, reason)
		}
	}
	if err != nil {
		return nil, err
	}
	a.conn = conn
	a.clientTr = newRotatingTransport(conn.roots, conn.serverName, pair)
	a.clientTr.file = &watchedFile{path: a.clientCert.CurrentPath(), now: a.now}
	a.clientTr.file.changed() // remember the file as it is now
	a.metrics.expiry.WithLabelValues("client").Set(float64(pair.Leaf.NotAfter.Unix()))
	a.cs, err = kubernetes.NewForConfig(a.clientTr.restConfig(conn.server, "kastle-agent/"+cfg.NodeName))
	if err != nil {
		return nil, fmt.Errorf("agent: client: %w", err)
	}
	a.goRun(func() { a.heartbeat(ctx) })
	if cfg.RotateCertificates {
		a.goRun(func() { a.rotateClient(ctx) })
	}
	if !cfg.DisableServer {
		a.goRun(func() { a.serve(ctx) })
	}
	go func() {
		<-ctx.Done()
		a.wg.Wait()
		a.clientTr.Close()
	}()
	return a, nil
}

func (a *Agent) goRun(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// Wait blocks until the agent has stopped (its context ended) and returns
// the error that stopped the API server, if any.
func (a *Agent) Wait() error {
	a.wg.Wait()
	select {
	case err := <-a.errc:
		return err
	default:
		return nil
	}
}

// Err delivers the error that stopped the API server (it could not
// listen, say); heartbeats go on regardless, so callers decide whether
// to stop.
func (a *Agent) Err() <-chan error { return a.errc }

// URL is the API's address once it serves, else "".
func (a *Agent) URL() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.url
}

// clientset is the client with the node's current identity.
func (a *Agent) clientset() kubernetes.Interface { return a.cs }

// heartbeat registers the Node, then writes its status and renews its
// Lease, each on its own period. Failures are logged and retried on the
// next tick.
func (a *Agent) heartbeat(ctx context.Context) {
	node, err := register(ctx, a.cs, a.cfg, a.now(), a.port.Load())
	for err != nil {
		a.metrics.heartbeats.WithLabelValues("status", "error").Inc()
		a.log.Error("registering node failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		node, err = register(ctx, a.cs, a.cfg, a.now(), a.port.Load())
	}
	a.metrics.heartbeats.WithLabelValues("status", "success").Inc()
	a.log.Info("node registered", "internalIP", a.cfg.NodeIP)
	close(a.registered)
	leaseErr := renewLease(ctx, a.cs, a.cfg, node, a.now())
	a.metrics.heartbeats.WithLabelValues("lease", result(leaseErr)).Inc()
	status := time.NewTicker(a.cfg.NodeStatusUpdateFrequency)
	defer status.Stop()
	lease := time.NewTicker(a.cfg.LeaseRenewInterval)
	defer lease.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-status.C:
			n, err := updateStatus(ctx, a.cs, a.cfg, nil, a.now(), a.port.Load())
			a.metrics.heartbeats.WithLabelValues("status", result(err)).Inc()
			if err != nil && ctx.Err() == nil {
				a.log.Warn("node status update failed", "err", err)
			} else if n != nil {
				node = n
			}
		case <-lease.C:
			err := renewLease(ctx, a.cs, a.cfg, node, a.now())
			a.metrics.heartbeats.WithLabelValues("lease", result(err)).Inc()
			if err != nil && ctx.Err() == nil {
				a.log.Warn("lease renewal failed", "err", err)
			}
		}
	}
}

// rotateClient renews the client certificate at its rotation deadline
// with a selfnodeclient CSR made as the node itself. Should the
// certificate have expired meanwhile (the agent was stopped, or the API
// server unreachable), the bootstrap kubeconfig is used instead.
func (a *Agent) rotateClient(ctx context.Context) {
	for {
		cur := a.clientTr.Current()
		if !a.sleepUntil(ctx, rotationDeadline(cur.Leaf, nil)) {
			return
		}
		for attempt := 0; ; attempt++ {
			pair, err := a.renewClient(ctx, cur)
			a.metrics.rotations.WithLabelValues("client", result(err)).Inc()
			if err == nil {
				a.clientTr.Rotate(pair)
				a.metrics.expiry.WithLabelValues("client").Set(float64(pair.Leaf.NotAfter.Unix()))
				a.log.Info("client certificate rotated", "notAfter", pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
				a.ensureKubeconfigFollows()
				break
			}
			if ctx.Err() != nil {
				return
			}
			wait := retryBackoff(attempt, cur.Leaf.NotAfter.Sub(a.now()))
			a.log.Error("client certificate rotation failed; retrying", "err", err, "retryIn", wait)
			if !a.sleepUntil(ctx, a.now().Add(wait)) {
				return
			}
		}
	}
}

func (a *Agent) renewClient(ctx context.Context, cur *tls.Certificate) (*tls.Certificate, error) {
	if a.now().Before(cur.Leaf.NotAfter) {
		return obtain(ctx, a.cs, clientKind(), a.clientCert, a.cfg.BootstrapTimeout, a.log, func(key *ecdsaKey) ([]byte, error) {
			return clientRequest(a.cfg.NodeName, key)
		})
	}
	a.log.Warn("client certificate expired; bootstrapping again", "bootstrapKubeconfig", a.cfg.BootstrapKubeconfig)
	rc, err := clientcmd.BuildConfigFromFlags("", a.cfg.BootstrapKubeconfig)
	if err != nil {
		return nil, fmt.Errorf("agent: the client certificate expired and the bootstrap kubeconfig is unusable: %w", err)
	}
	return bootstrapWith(ctx, a.cfg, rc, a.clientCert, a.log)
}

// ensureKubeconfigFollows points kubelet.conf at the current.pem symlink if
// it names other credentials (an operator's kubelet.conf with embedded
// ones, say), so that a restart uses the rotated certificate.
func (a *Agent) ensureKubeconfigFollows() {
	path := a.clientCert.CurrentPath()
	_, user, err := loadConnection(a.cfg.Kubeconfig)
	if err == nil && user.ClientCertificate == path && user.ClientKey == path && len(user.ClientCertificateData) == 0 {
		return
	}
	if err := writeKubeconfig(a.cfg.Kubeconfig, a.conn, path); err != nil {
		a.log.Error("pointing kubelet.conf at the rotated certificate failed", "err", err)
		return
	}
	a.log.Info("kubelet.conf now follows the rotated certificate", "file", path)
}

// sleepUntil waits for t or ctx, reporting false if ctx ended.
func (a *Agent) sleepUntil(ctx context.Context, t time.Time) bool {
	d := t.Sub(a.now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// servingValid reports whether a stored serving certificate can be used:
// unexpired, and for this node's name and IP.
func (a *Agent) servingValid(c *tls.Certificate) bool {
	if c == nil || c.Leaf == nil || !a.now().Before(c.Leaf.NotAfter) {
		return false
	}
	ip := net.ParseIP(a.cfg.NodeIP)
	return slices.Contains(c.Leaf.DNSNames, a.cfg.NodeName) && slices.ContainsFunc(c.Leaf.IPAddresses, ip.Equal)
}

// obtainServing asks for a serving certificate until one is issued or ctx
// ends. A request that times out (nobody approved it) or is denied is
// logged and replaced by a new one after a pause.
func (a *Agent) obtainServing(ctx context.Context) (*tls.Certificate, error) {
	ip := net.ParseIP(a.cfg.NodeIP)
	for attempt := 0; ; attempt++ {
		pair, err := obtain(ctx, a.cs, servingKind(), a.servCert, a.cfg.ServingCSRTimeout, a.log, func(key *ecdsaKey) ([]byte, error) {
			return servingRequest(a.cfg.NodeName, ip, key)
		})
		a.metrics.rotations.WithLabelValues("serving", result(err)).Inc()
		if err == nil {
			a.metrics.expiry.WithLabelValues("serving").Set(float64(pair.Leaf.NotAfter.Unix()))
			return pair, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		wait := retryBackoff(attempt, time.Hour)
		a.log.Error("no serving certificate; asking again", "err", err, "retryIn", wait)
		if !a.sleepUntil(ctx, a.now().Add(wait)) {
			return nil, ctx.Err()
		}
	}
}

// serve obtains the serving certificate (waiting for approval), then
// serves the API on NodeIP:Port, and keeps the certificate renewed.
func (a *Agent) serve(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-a.registered:
	}
	pair, err := a.servCert.Load()
	if err != nil || !a.servingValid(pair) {
		a.log.Info("requesting a serving certificate; the agent serves once it is approved and issued")
		if pair, err = a.obtainServing(ctx); err != nil {
			return
		}
	}
	a.serving.Set(pair)
	a.metrics.expiry.WithLabelValues("serving").Set(float64(pair.Leaf.NotAfter.Unix()))
	servFile := &watchedFile{path: a.servCert.CurrentPath(), now: a.now}
	servFile.changed() // remember the file as it is now
	ln, err := net.Listen("tcp", net.JoinHostPort(a.cfg.NodeIP, strconv.Itoa(a.cfg.Port)))
	if err != nil {
		a.fail(fmt.Errorf("agent: listen on %s port %d: %w", a.cfg.NodeIP, a.cfg.Port, err))
		return
	}
	srv := &http.Server{
		Handler:           a.apiHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				// A certificate replaced on disk is served from the next
				// handshake on, if it is still for this node.
				if p := servFile.changed(); p != nil && a.servingValid(p) {
					a.serving.Set(p)
				}
				return a.serving.Get(), nil
			},
			// Certificates are checked against the cluster CA here and
			// again by the authenticator; callers without one may use a
			// bearer token.
			ClientAuth: tls.VerifyClientCertIfGiven,
			ClientCAs:  a.conn.roots,
		},
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	url := "https://" + ln.Addr().String()
	a.port.Store(int32(ln.Addr().(*net.TCPAddr).Port))
	a.mu.Lock()
	a.url = url
	a.mu.Unlock()
	a.log.Info("kastle agent ready", "url", url)
	if a.cfg.RotateServerCertificates {
		a.goRun(func() { a.rotateServing(ctx) })
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
	}()
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.fail(fmt.Errorf("agent: serving %s: %w", url, err))
	}
}

// rotateServing renews the serving certificate at its rotation deadline;
// connections made afterwards get the new one.
func (a *Agent) rotateServing(ctx context.Context) {
	for {
		if !a.sleepUntil(ctx, rotationDeadline(a.serving.Get().Leaf, nil)) {
			return
		}
		pair, err := a.obtainServing(ctx)
		if err != nil {
			return
		}
		a.serving.Set(pair)
		a.log.Info("serving certificate rotated", "notAfter", pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
}

// fail records the first fatal error.
func (a *Agent) fail(err error) {
	a.log.Error("agent API stopped", "err", err)
	select {
	case a.errc <- err:
	default:
	}
}

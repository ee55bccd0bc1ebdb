package testenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/connrotation"

	"github.com/kastle-dev/kastle/internal/apiserver"
	"github.com/kastle-dev/kastle/internal/cli"
	"github.com/kastle-dev/kastle/internal/pki"
)

const (
	defaultStartTimeout = 60 * time.Second
	defaultStopTimeout  = 30 * time.Second
	// keptLogLines is how much of the server's log a failure shows.
	keptLogLines = 200
	// userCertValidity is the lifetime of AddUser's certificates: longer
	// than any test, short enough not to matter if one leaks.
	userCertValidity = 24 * time.Hour
)

// Environment is one running control plane. Its methods are safe for
// concurrent use.
type Environment struct {
	// WebhookInstallOptions is Options.WebhookInstallOptions with the
	// Local* fields filled in by Start (host, port, certificate directory
	// and CA), for the test's webhook server.
	WebhookInstallOptions WebhookInstallOptions

	dataDir    string
	ownDataDir bool   // created by Start, removed by Stop
	ownCertDir string // webhook certificate dir created by Start
	url        string
	kubeconfig string
	config     *rest.Config
	client     *kubernetes.Clientset
	ca         *pki.CA // the cluster CA, which also verifies client certificates
	logs       *logLines
	dialer     *connrotation.Dialer // connections of every client of this environment

	stopTimeout time.Duration
	cancel      context.CancelFunc
	done        chan struct{} // closed when the server has returned
	runErr      error         // the server's error, valid after done

	stopOnce sync.Once
	stopErr  error
}

// Start starts a control plane in this process and returns once it
// serves, with every CRD of opts Established and served and every
// webhook configuration created. ctx bounds the start only (so does
// opts.ControlPlaneStartTimeout); the environment runs until Stop.
// On error nothing is left running.
func Start(ctx context.Context, opts Options) (*Environment, error) {
	e, _, err := start(ctx, opts)
	return e, err
}

// start is Start that also returns the log, for New's failure message.
func start(ctx context.Context, opts Options) (_ *Environment, logs *logLines, err error) {
	var out = opts.ControlPlaneOutput
	if !opts.AttachControlPlaneOutput {
		out = nil
	} else if out == nil {
		out = os.Stderr
	}
	logs = newLogLines(keptLogLines, out)
	cfg, err := cli.ServerConfig(opts.APIServerFlags, "data-dir", "secure-port", "bind-address")
	if err != nil {
		return nil, logs, err
	}
	timeout := opts.ControlPlaneStartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	ctx, cancelStart := context.WithTimeout(ctx, timeout)
	defer cancelStart()

	// Manifests are read first: a typo fails before anything starts.
	crds, err := readCRDs(opts.CRDDirectoryPaths, opts.ErrorIfCRDPathMissing)
	if err != nil {
		return nil, logs, err
	}
	crds = append(crds, opts.CRDs...)
	mutating, validating, err := opts.WebhookInstallOptions.read()
	if err != nil {
		return nil, logs, err
	}

	e := &Environment{WebhookInstallOptions: opts.WebhookInstallOptions, dataDir: opts.DataDir, logs: logs, stopTimeout: opts.ControlPlaneStopTimeout, done: make(chan struct{})}
	if e.stopTimeout <= 0 {
		e.stopTimeout = defaultStopTimeout
	}
	if e.dataDir == "" {
		if e.dataDir, err = os.MkdirTemp("", "kastle-testenv-"); err != nil {
			return nil, logs, fmt.Errorf("testenv: %w", err)
		}
		e.ownDataDir = true
	}
	defer func() {
		if err != nil {
			// Whatever was started goes; the error is the start's.
			_ = e.Stop()
		}
	}()

	cfg.DataDir = e.dataDir
	cfg.SecurePort = 0
	cfg.BindAddress = "127.0.0.1"
	cfg.EtcdUnsafeNoFsync = !opts.Durable
	// A test's requests are short; do not keep Stop waiting on them.
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// The server's lifetime is the environment's, not ctx's.
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	ready := make(chan [2]string, 1)
	go func() {
		defer close(e.done)
		e.runErr = apiserver.Run(runCtx, cfg, func(url, kubeconfigPath string) { ready <- [2]string{url, kubeconfigPath} })
	}()
	select {
	case r := <-ready:
		e.url, e.kubeconfig = r[0], r[1]
	case <-e.done:
		if e.runErr == nil {
			e.runErr = errors.New("stopped before it was ready")
		}
		return nil, logs, fmt.Errorf("testenv: starting the API server: %w", e.runErr)
	case <-ctx.Done():
		return nil, logs, fmt.Errorf("testenv: the API server was not ready in time: %w", ctx.Err())
	}

	if e.config, err = clientcmd.BuildConfigFromFlags("", e.kubeconfig); err != nil {
		return nil, logs, fmt.Errorf("testenv: %w", err)
	}
	// A local test server needs no client-side throttling; client-go's
	// default (5 requests/s) only slows tests down.
	e.config.QPS, e.config.Burst = -1, 0
	// Every client made from Config or AddUser dials through e.dialer, so
	// Stop can close their connections: the server's graceful shutdown
	// otherwise waits a second on each idle HTTP/2 client. A custom dialer
	// also keeps client-go from caching a transport per environment in
	// its process-wide cache.
	e.dialer = connrotation.NewDialer((&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext)
	e.config.Dial = e.dialer.DialContext
	if e.client, err = kubernetes.NewForConfig(e.config); err != nil {
		return nil, logs, fmt.Errorf("testenv: %w", err)
	}
	if e.ca, err = loadCA(pki.PKIDir(e.dataDir)); err != nil {
		return nil, logs, err
	}

	if err := installCRDs(ctx, e.config, crds); err != nil {
		return nil, logs, err
	}
	if e.WebhookInstallOptions.installing() {
		if err := e.installWebhooks(ctx, mutating, validating); err != nil {
			return nil, logs, err
		}
	}
	return e, logs, nil
}

func loadCA(dir string) (*pki.CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, fmt.Errorf("testenv: the cluster CA key signs AddUser's certificates: %w", err)
	}
	ca, err := pki.LoadCA(certPEM, keyPEM, nil)
	if err != nil {
		return nil, fmt.Errorf("testenv: cluster CA: %w", err)
	}
	return ca, nil
}

// Stop shuts the control plane down (in-flight requests finish, watches
// end, etcd stops) and removes the temporary directories Start created.
// It returns the server's error, if it failed while running. Calling it
// again returns the same result.
func (e *Environment) Stop() error {
	e.stopOnce.Do(func() {
		if e.cancel != nil {
			e.cancel()
			if e.dialer != nil {
				e.dialer.CloseAll()
			}
			select {
			case <-e.done:
				e.stopErr = e.runErr
			case <-time.After(e.stopTimeout):
				e.stopErr = fmt.Errorf("testenv: the API server did not stop within %s", e.stopTimeout)
			}
		}
		for _, dir := range []string{e.ownCertDir, e.dataDirIfOwn()} {
			if dir == "" {
				continue
			}
			if err := os.RemoveAll(dir); err != nil && e.stopErr == nil {
				e.stopErr = fmt.Errorf("testenv: %w", err)
			}
		}
	})
	return e.stopErr
}

func (e *Environment) dataDirIfOwn() string {
	if e.ownDataDir {
		return e.dataDir
	}
	return ""
}

// Config returns a new copy of the configuration of a cluster
// administrator (user kubernetes-admin in group system:masters,
// authenticated by a client certificate), with client-side rate
// limiting off. Change the copy freely.
func (e *Environment) Config() *rest.Config { return rest.CopyConfig(e.config) }

// Client returns a typed clientset acting as Config's administrator.
func (e *Environment) Client() kubernetes.Interface { return e.client }

// AddUser issues a client certificate (CN name, O groups) signed by the
// cluster's client CA and returns a configuration that authenticates
// with it, so authorization (RBAC) applies to it as to any user. The
// certificate is valid for 24 hours.
func (e *Environment) AddUser(name string, groups ...string) (*rest.Config, error) {
	if name == "" {
		return nil, errors.New("testenv: AddUser needs a user name")
	}
	certPEM, keyPEM, err := e.ca.IssueClientCert(name, groups, userCertValidity)
	if err != nil {
		return nil, fmt.Errorf("testenv: issuing a certificate for %q: %w", name, err)
	}
	c := rest.CopyConfig(e.config)
	c.TLSClientConfig.CertFile, c.TLSClientConfig.KeyFile = "", ""
	c.TLSClientConfig.CertData, c.TLSClientConfig.KeyData = certPEM, keyPEM
	c.BearerToken, c.BearerTokenFile, c.Username, c.Password = "", "", "", ""
	c.Impersonate = rest.ImpersonationConfig{}
	return c, nil
}

// URL returns the API server's address, https://127.0.0.1:PORT.
func (e *Environment) URL() string { return e.url }

// KubeconfigPath returns the administrator's kubeconfig file, for
// kubectl and other programs (it lives in DataDir).
func (e *Environment) KubeconfigPath() string { return e.kubeconfig }

// DataDir returns the environment's data directory.
func (e *Environment) DataDir() string { return e.dataDir }

// Logs returns the last lines the server logged (at most 200).
func (e *Environment) Logs() string { return e.logs.last() }

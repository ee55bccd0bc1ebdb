package embedded

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
)

// Config describes an embedded etcd server. Only Dir is required.
type Config struct {
	// Dir holds the etcd data (member/ and etcd.log); created 0700.
	Dir string
	// Name is the member name; "default" when empty.
	Name string
	// ClientURL is where etcd listens for gRPC clients; empty means
	// http://127.0.0.1 on a free port. The URL actually bound is
	// reported by (*Server).Endpoint.
	ClientURL string
	// PeerURL is the raft peer URL; empty means http://127.0.0.1 on a
	// free port (a single member never dials it).
	PeerURL string
	// ProgressNotifyInterval is how often idle watches receive progress
	// notifications (turned into bookmarks); 0 means 1 min. Reads that
	// need the current revision ask for progress on demand, so this only
	// bounds how stale an idle watch cache's bookmarks are; each period
	// wakes every watch (one per resource), so shorter costs idle CPU.
	ProgressNotifyInterval time.Duration
	// QuotaBackendBytes caps the database size; 0 keeps etcd's 2 GiB.
	QuotaBackendBytes int64
	// UnsafeNoFsync skips fsync: only for tests, a crash can lose data.
	UnsafeNoFsync bool
	// GRPCClient makes Client return a gRPC client over loopback instead
	// of the in-process one (the in-process client is faster; see
	// BenchmarkClient).
	GRPCClient bool
	// ServerCertFile and ServerKeyFile, when set, make the client URL
	// serve TLS (https); ClientCAFile then also requires client
	// certificates signed by it (like etcd's --client-cert-auth).
	ServerCertFile string
	ServerKeyFile  string
	ClientCAFile   string
	// StartTimeout bounds the wait for the member to become ready; 0
	// means 30 s.
	StartTimeout time.Duration
}

// Server is a running embedded etcd member with a client connected to it.
type Server struct {
	etcd     *embed.Etcd
	client   *clientv3.Client
	endpoint string
}

// Start runs an etcd member from cfg.Dir (creating it when new) and
// returns once it serves requests. The logs go to Dir/etcd.log at warn
// level. Cancelling ctx aborts a start in progress; it does not stop a
// started server (use Close).
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedded etcd: Config.Dir is required")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	// etcd refuses a data dir readable by others; fix a pre-existing one.
	if err := os.Chmod(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	ec, err := embedConfig(cfg)
	if err != nil {
		return nil, err
	}
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: start: %w", err)
	}
	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-t.C:
		e.Close()
		return nil, fmt.Errorf("embedded etcd: not ready after %s (see %s)", timeout, filepath.Join(cfg.Dir, "etcd.log"))
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	scheme := "http://"
	if cfg.ServerCertFile != "" {
		scheme = "https://"
	}
	s := &Server{etcd: e, endpoint: scheme + e.Clients[0].Addr().String()}
	if cfg.GRPCClient {
		if cfg.ServerCertFile != "" {
			e.Close()
			return nil, errors.New("embedded etcd: GRPCClient with TLS: use NewClient with certificates")
		}
		s.client, err = clientv3.New(clientv3.Config{
			Endpoints:   []string{s.endpoint},
			DialTimeout: 5 * time.Second,
			Logger:      e.GetLogger(),
		})
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("embedded etcd: client: %w", err)
		}
	} else {
		s.client = v3client.New(e.Server)
	}
	return s, nil
}

// embedConfig turns cfg into etcd's configuration, tuned for one local
// member that starts fast.
func embedConfig(cfg Config) (*embed.Config, error) {
	ec := embed.NewConfig()
	ec.Dir = cfg.Dir
	if cfg.Name != "" {
		ec.Name = cfg.Name
	}
	defClient := "http://127.0.0.1:0"
	if cfg.ServerCertFile != "" {
		defClient = "https://127.0.0.1:0"
		ec.ClientTLSInfo = transport.TLSInfo{
			CertFile:       cfg.ServerCertFile,
			KeyFile:        cfg.ServerKeyFile,
			TrustedCAFile:  cfg.ClientCAFile,
			ClientCertAuth: cfg.ClientCAFile != "",
		}
	}
	clientURL, err := parseURL(cfg.ClientURL, defClient)
	if err != nil {
		return nil, err
	}
	peerURL, err := parseURL(cfg.PeerURL, "http://127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ec.ListenClientUrls = []url.URL{*clientURL}
	ec.AdvertiseClientUrls = []url.URL{*clientURL}
	ec.ListenPeerUrls = []url.URL{*peerURL}
	ec.AdvertisePeerUrls = []url.URL{*peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	// A single member elects itself after one to ElectionMs/TickMs ticks
	// (etcd fast-forwards the rest): short ticks make the start-up take
	// milliseconds instead of a second. Every tick also wakes the raft
	// loops of an idle server (most of its idle CPU), so ticks are no
	// shorter than that needs: 20 ms and etcd's minimum of 5 ticks per
	// election keep the worst case at 100 ms with half the wake-ups of
	// 10 ms ticks.
	ec.TickMs = 20
	ec.ElectionMs = 100
	ec.InitialElectionTickAdvance = true
	ec.WatchProgressNotifyInterval = cfg.ProgressNotifyInterval
	if ec.WatchProgressNotifyInterval == 0 {
		ec.WatchProgressNotifyInterval = time.Minute
	}
	ec.QuotaBackendBytes = cfg.QuotaBackendBytes
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	// kastle serves its own API: no HTTP gateway, metrics only on demand.
	ec.EnableGRPCGateway = false
	ec.Logger = "zap"
	ec.LogLevel = "warn"
	ec.LogOutputs = []string{filepath.Join(cfg.Dir, "etcd.log")}
	// The kastle compactor (StartCompactor) decides what to compact.
	ec.AutoCompactionRetention = "0"
	return ec, nil
}

func parseURL(s, def string) (*url.URL, error) {
	if s == "" {
		s = def
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: bad URL %q: %w", s, err)
	}
	return u, nil
}

// Client returns the client connected to this member. It stays valid
// until Close; callers must not close it.
func (s *Server) Client() *clientv3.Client { return s.client }

// Endpoint returns the client URL the member listens on, for other
// processes (e.g. etcdctl).
func (s *Server) Endpoint() string { return s.endpoint }

// Close closes the client and stops the member; safe to call once.
func (s *Server) Close() error {
	err := s.client.Close()
	s.etcd.Close()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

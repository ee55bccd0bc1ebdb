package caserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/kastle-dev/kastle/internal/pki"
)

// File bases inside the service directory.
const (
	CABase          = "ca"
	ServingBase     = "server"
	ClientAdminBase = AdminIdentity
)

// Config is `kastle ca serve`'s configuration.
type Config struct {
	// Dir holds ca.crt/ca.key, the serving pair, client-admin's pair and
	// the journal; created 0700.
	Dir string
	// Listen is HOST:PORT.
	Listen string
	// GRPC serves the gRPC API instead of HTTPS.
	GRPC bool
	// MTLS requires client certificates from the CA.
	MTLS bool
	// TokenFile lists bearer tokens ("token,name"); needed without MTLS.
	TokenFile string
	// PolicyFile is the policy (YAML or JSON); "" means DefaultPolicy.
	PolicyFile string
	// Hosts are extra SANs of the serving certificate.
	Hosts []string
	// KeyAlgorithm of new keys; "" means ECDSA P-256.
	KeyAlgorithm pki.KeyAlgorithm
	// CAKeyPasswordFile, if set, holds the password (first line) that
	// encrypts ca.key at rest (PKCS #8, PBES2 with AES-256-CBC).
	CAKeyPasswordFile string
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
	// Ready, if set, is called with the bound address once serving.
	Ready func(addr net.Addr)
}

// Files are the service's ensured credentials.
type Files struct {
	CA          *pki.CA
	Serving     *pki.KeyPair
	ClientAdmin *pki.KeyPair
}

// EnsureFiles creates, on first start, the CA (10 years), the serving
// certificate (SANs: the listen host, or localhost and 127.0.0.1 when it is
// a wildcard or empty, plus hosts) and client-admin's client certificate;
// later starts reuse them and fail on drift (see pki.Store).
func EnsureFiles(dir, listen string, hosts []string, alg pki.KeyAlgorithm) (*Files, error) {
	return ensureFiles(pki.Store{Dir: dir, KeyAlgorithm: alg}, listen, hosts)
}

// ensureFiles is EnsureFiles with a configured store (e.g. a CA key
// password).
func ensureFiles(st pki.Store, listen string, hosts []string) (*Files, error) {
	ca, err := st.EnsureCA(CABase, pki.CertSpec{CommonName: "kastle-ca", Validity: pki.CAValidity})
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("caserver: --listen %q: want HOST:PORT: %w", listen, err)
	}
	names := append([]string{}, hosts...)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		names = append(names, "localhost", "127.0.0.1")
	} else {
		names = append(names, host)
	}
	sans, err := pki.ParseSANs(names)
	if err != nil {
		return nil, fmt.Errorf("caserver: serving certificate SANs: %w", err)
	}
	serving, err := st.EnsureLeaf(ServingBase, ca, pki.CertSpec{CommonName: "kastle-ca-server", DNSNames: sans.DNSNames,
		IPs: sans.IPs, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: pki.LeafValidity})
	if err != nil {
		return nil, err
	}
	admin, err := st.EnsureLeaf(ClientAdminBase, ca, pki.CertSpec{CommonName: AdminIdentity,
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: pki.LeafValidity})
	if err != nil {
		return nil, err
	}
	return &Files{CA: ca, Serving: serving, ClientAdmin: admin}, nil
}

// CPUProfileEnv names an environment variable: when set, Run writes a CPU
// profile of the service to that file until it stops. Benchmarks use it to
// see where the served process's CPU goes (docs/performance.md).
const CPUProfileEnv = "KASTLE_CA_CPUPROFILE"

// Run serves until ctx is cancelled, then shuts down gracefully.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if path := os.Getenv(CPUProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("caserver: %s: %w", CPUProfileEnv, err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("caserver: %s: %w", CPUProfileEnv, err)
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.Dir == "" {
		return errors.New("caserver: --dir is required")
	}
	var tokens *Tokens
	if cfg.TokenFile != "" {
		var err error
		if tokens, err = LoadTokens(cfg.TokenFile); err != nil {
			return err
		}
	}
	if !cfg.MTLS && tokens == nil {
		// Fail closed: without either, nobody could be authenticated, and an
		// open signing endpoint is never what is meant.
		return errors.New("caserver: --mtls=false needs --token-file: signing requires a client certificate or a bearer token")
	}
	policy := DefaultPolicy()
	if cfg.PolicyFile != "" {
		var err error
		if policy, err = LoadPolicy(cfg.PolicyFile); err != nil {
			return err
		}
	}
	st := pki.Store{Dir: cfg.Dir, KeyAlgorithm: cfg.KeyAlgorithm}
	if cfg.CAKeyPasswordFile != "" {
		data, err := os.ReadFile(cfg.CAKeyPasswordFile)
		if err != nil {
			return fmt.Errorf("caserver: --ca-key-password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(data), "\n")
		if st.CAKeyPassword = []byte(strings.TrimRight(line, "\r")); len(st.CAKeyPassword) == 0 {
			return fmt.Errorf("caserver: --ca-key-password-file %s: first line is empty", cfg.CAKeyPasswordFile)
		}
	}
	if len(st.CAKeyPassword) == 0 {
		if data, err := os.ReadFile(filepath.Join(cfg.Dir, CABase+pki.KeyExt)); err == nil &&
			strings.Contains(string(data), "-----BEGIN "+pki.PEMTypeEncryptedPrivateKey) {
			return fmt.Errorf("caserver: %s is encrypted: give its password with --ca-key-password-file",
				filepath.Join(cfg.Dir, CABase+pki.KeyExt))
		}
	}
	files, err := ensureFiles(st, cfg.Listen, cfg.Hosts)
	if err != nil {
		return err
	}
	store, err := OpenStore(filepath.Join(cfg.Dir, JournalFile))
	if err != nil {
		return err
	}
	defer store.Close()
	svc := &Service{CA: files.CA, Store: store, Policy: policy, Logger: log}

	tlsCfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{files.Serving.TLSCertificate()},
	}
	if cfg.MTLS {
		tlsCfg.ClientAuth = tls.RequireAndVerifyClientCert
		tlsCfg.ClientCAs = files.CA.Pool()
		// A revoked client certificate is refused at the handshake.
		tlsCfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 && store.IsRevoked(cs.PeerCertificates[0].SerialNumber) {
				return fmt.Errorf("client certificate %s is revoked", serialID(cs.PeerCertificates[0].SerialNumber))
			}
			return nil
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("caserver: listen on %s: %w", cfg.Listen, err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "grpc", cfg.GRPC, "mtls", cfg.MTLS, "dir", cfg.Dir,
		"caPin", pki.CertPin(files.CA.Cert))
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
	}
	errc := make(chan error, 1)
	if cfg.GRPC {
		gs := NewGRPCServer(svc, credentials.NewTLS(tlsCfg), cfg.MTLS, tokens)
		go func() { errc <- gs.Serve(ln) }()
		select {
		case <-ctx.Done():
			stopped := make(chan struct{})
			go func() { gs.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-time.After(5 * time.Second):
				gs.Stop()
			}
			return nil
		case err := <-errc:
			return err
		}
	}
	authn := httpAuthenticator(cfg.MTLS, tokens)
	hs := &http.Server{
		Handler:           NewHTTPHandler(svc, authn),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	select {
	case <-ctx.Done():
		// Requests are short: give them a moment, then close whatever is
		// left (such as connections stuck before their TLS handshake).
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			_ = hs.Close()
		}
		return nil
	case err := <-errc:
		return err
	}
}

// httpAuthenticator names HTTP callers: by verified client certificate
// with mTLS, else by bearer token.
func httpAuthenticator(mtls bool, tokens *Tokens) Authenticator {
	if mtls {
		return func(r *http.Request) string {
			if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
				return ""
			}
			return r.TLS.VerifiedChains[0][0].Subject.CommonName
		}
	}
	return func(r *http.Request) string {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return ""
		}
		return tokens.Authenticate(strings.TrimSpace(tok))
	}
}

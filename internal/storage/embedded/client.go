package embedded

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ClientConfig describes how to reach an external etcd cluster (the
// --etcd-servers, --etcd-cafile, --etcd-certfile, --etcd-keyfile flags).
type ClientConfig struct {
	// Endpoints are the member URLs, e.g. https://10.0.0.1:2379.
	Endpoints []string
	// CAFile verifies the members' serving certificates; with it the
	// client uses TLS.
	CAFile string
	// CertFile and KeyFile are the client certificate the members
	// require with client-cert-auth; both or neither.
	CertFile string
	KeyFile  string
	// DialTimeout bounds connecting; 0 means 5 s.
	DialTimeout time.Duration
}

// NewClient connects to an external etcd. TLS (1.2 or later) is used when
// any of the files is given; the endpoints must then be https URLs.
func NewClient(cfg ClientConfig) (*clientv3.Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd client: no endpoints")
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("etcd client: the certificate and key files must be given together")
	}
	cc := clientv3.Config{Endpoints: cfg.Endpoints, DialTimeout: cfg.DialTimeout}
	if cc.DialTimeout == 0 {
		cc.DialTimeout = 5 * time.Second
	}
	if cfg.CAFile != "" || cfg.CertFile != "" {
		info := transport.TLSInfo{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, TrustedCAFile: cfg.CAFile}
		tc, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd client: TLS: %w", err)
		}
		if tc.MinVersion < tls.VersionTLS12 {
			tc.MinVersion = tls.VersionTLS12
		}
		cc.TLS = tc
	}
	c, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	return c, nil
}

package kubeconfig

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/connrotation"

	"github.com/kastle-dev/kastle/internal/pki"
)

// RotatingConfig returns a client configuration for the kubeconfig at path
// that follows the file: when its client certificate is replaced (renewed),
// new connections present the new one and open connections are closed so
// that long watches reconnect with it too. The file is looked at every
// poll until ctx ends. The kubeconfig must embed its certificate and key.
func RotatingConfig(ctx context.Context, path string, poll time.Duration) (*rest.Config, error) {
	base, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	if len(base.TLSClientConfig.CertData) == 0 || len(base.TLSClientConfig.KeyData) == 0 {
		return nil, fmt.Errorf("%s: the client certificate and key must be embedded", path)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(base.TLSClientConfig.CAData) {
		return nil, fmt.Errorf("%s: no embedded certificate-authority-data", path)
	}
	l := &certLoader{path: path}
	if _, err := l.reload(); err != nil {
		return nil, err
	}
	dialer := connrotation.NewDialer((&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext)
	tr := &http.Transport{
		DialContext:       dialer.DialContext,
		ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: base.TLSClientConfig.ServerName,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return l.current(), nil },
		},
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 25,
	}
	go func() {
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				tr.CloseIdleConnections()
				return
			case <-t.C:
				if changed, err := l.reload(); err == nil && changed {
					dialer.CloseAll()
				}
			}
		}
	}()
	return &rest.Config{Host: base.Host, Transport: tr, QPS: base.QPS, Burst: base.Burst, UserAgent: base.UserAgent}, nil
}

// certLoader holds the client certificate last read from a kubeconfig.
type certLoader struct {
	path string
	mu   sync.Mutex
	cert *tls.Certificate
	raw  []byte
}

func (l *certLoader) current() *tls.Certificate {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cert
}

// reload reads the file and reports whether the certificate changed. A
// file that does not parse (caught mid-replacement) keeps the old one.
func (l *certLoader) reload() (bool, error) {
	cfg, err := clientcmd.LoadFromFile(l.path)
	if err != nil {
		return false, err
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return false, fmt.Errorf("%s: no current context", l.path)
	}
	user, ok := cfg.AuthInfos[ctx.AuthInfo]
	if !ok {
		return false, fmt.Errorf("%s: no user %q", l.path, ctx.AuthInfo)
	}
	l.mu.Lock()
	same := bytes.Equal(l.raw, user.ClientCertificateData)
	l.mu.Unlock()
	if same {
		return false, nil
	}
	pair, err := tls.X509KeyPair(user.ClientCertificateData, user.ClientKeyData)
	if err != nil {
		return false, fmt.Errorf("%s: %w", l.path, err)
	}
	l.mu.Lock()
	l.cert, l.raw = &pair, user.ClientCertificateData
	l.mu.Unlock()
	return true, nil
}

// Reissue replaces the credentials of the kubeconfig at path with a new
// key and certificate for spec from ca (a renewal), keeping its cluster
// entry's server, and returns the new certificate.
func Reissue(path string, ca *pki.CA, spec Spec) (*x509.Certificate, error) {
	if ca.Key == nil {
		return nil, fmt.Errorf("kubeconfig: %s: %w", path, pki.ErrExternalCA)
	}
	if cfg, err := clientcmd.LoadFromFile(path); err == nil {
		cluster, _, _ := spec.names()
		if c, ok := cfg.Clusters[cluster]; ok && spec.ServerURL == "" {
			spec.ServerURL = c.Server
		}
	}
	cert, key, err := ca.IssueKeyPair(spec.Cert, spec.KeyAlgorithm)
	if err != nil {
		return nil, err
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	out, err := clientcmd.Write(*Build(spec, pki.EncodeCertPEM(ca.Cert), pki.EncodeCertPEM(cert), keyPEM))
	if err != nil {
		return nil, err
	}
	if err := pki.WriteFileAtomic(path, out, pki.KubeconfigFileMode, true); err != nil {
		return nil, err
	}
	return cert, nil
}

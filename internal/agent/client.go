package agent

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/connrotation"
)

// rotationGrace is how long connections made with a replaced client
// certificate are kept for the requests and watches running on them.
// Afterwards they are closed; watches reconnect with the new certificate.
const rotationGrace = 30 * time.Second

// rotatingTransport is an http.RoundTripper whose client certificate can
// be replaced without failing requests: each certificate gets its own
// http.Transport; a new request always takes the newest, and the older one
// is closed once idle, or after rotationGrace at the latest.
type rotatingTransport struct {
	roots      *x509.CertPool
	serverName string
	holder     *certHolder

	mu     sync.Mutex
	cur    *http.Transport
	dialer *connrotation.Dialer
}

var _ http.RoundTripper = (*rotatingTransport)(nil)

func newRotatingTransport(roots *x509.CertPool, serverName string, cert *tls.Certificate) *rotatingTransport {
	t := &rotatingTransport{roots: roots, serverName: serverName, holder: &certHolder{}}
	t.holder.Set(cert)
	t.cur, t.dialer = t.newTransport()
	return t
}

func (t *rotatingTransport) newTransport() (*http.Transport, *connrotation.Dialer) {
	dialer := connrotation.NewDialer((&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext)
	return &http.Transport{
		Proxy:             nil, // the agent talks to its API server directly
		DialContext:       dialer.DialContext,
		ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12, RootCAs: t.roots, ServerName: t.serverName,
			// Read at each handshake, so even a connection opened on an
			// old transport presents the newest certificate.
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return t.holder.Get(), nil },
		},
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 25,
	}, dialer
}

// RoundTrip sends r with the newest certificate's transport.
func (t *rotatingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	tr := t.cur
	t.mu.Unlock()
	return tr.RoundTrip(r)
}

// Current is the certificate new connections present.
func (t *rotatingTransport) Current() *tls.Certificate { return t.holder.Get() }

// Rotate switches to cert: new requests use new connections that present
// it; idle old connections are closed now, busy ones after rotationGrace.
func (t *rotatingTransport) Rotate(cert *tls.Certificate) {
	t.holder.Set(cert)
	tr, dialer := t.newTransport()
	t.mu.Lock()
	old, oldDialer := t.cur, t.dialer
	t.cur, t.dialer = tr, dialer
	t.mu.Unlock()
	old.CloseIdleConnections()
	time.AfterFunc(rotationGrace, func() {
		old.CloseIdleConnections()
		oldDialer.CloseAll()
	})
}

// Close drops every connection.
func (t *rotatingTransport) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cur.CloseIdleConnections()
	t.dialer.CloseAll()
}

// restConfig is a client-go configuration for host through t.
func (t *rotatingTransport) restConfig(host, userAgent string) *rest.Config {
	return &rest.Config{Host: host, Transport: t, QPS: 50, Burst: 100, UserAgent: userAgent}
}

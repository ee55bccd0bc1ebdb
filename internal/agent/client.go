package agent

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
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
	// file, when set, is re-read at a new connection if it changed, so a
	// certificate replaced by someone else (an operator, a second agent
	// process) is picked up too.
	file *watchedFile

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
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return t.Current(), nil },
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

// Current is the certificate new connections present: the file's, when it
// changed and holds a valid pair, else the last one set.
func (t *rotatingTransport) Current() *tls.Certificate {
	if t.file != nil {
		if pair := t.file.changed(); pair != nil {
			t.holder.Set(pair)
		}
	}
	return t.holder.Get()
}

// watchedFile notices when a certificate file (through its symlink) is
// replaced, by the identity and modification time of what it points at.
type watchedFile struct {
	path string
	now  func() time.Time
	mu   sync.Mutex
	last os.FileInfo
}

// changed returns the file's pair if the file differs from the last call
// and holds an unexpired certificate with its key; else nil.
func (w *watchedFile) changed() *tls.Certificate {
	fi, err := os.Stat(w.path)
	if err != nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last != nil && os.SameFile(fi, w.last) && fi.ModTime().Equal(w.last.ModTime()) && fi.Size() == w.last.Size() {
		return nil
	}
	w.last = fi
	data, err := os.ReadFile(w.path)
	if err != nil {
		return nil
	}
	pair, err := parsePair(w.path, data)
	if err != nil || !w.now().Before(pair.Leaf.NotAfter) {
		return nil
	}
	return pair
}

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

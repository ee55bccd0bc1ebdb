package apiserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/endpoints"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/apiserver/status"
	"github.com/kastle-dev/kastle/internal/pki"
)

// DefaultKubeletPort is where a node's agent serves when its Node does not
// say (status.daemonEndpoints.kubeletEndpoint.port).
const DefaultKubeletPort = 10250

// nodeProxy serves nodes/<name>/proxy/...: the request goes to the node's
// agent over TLS, authenticated with the API server's kubelet client
// certificate and verifying the agent's serving certificate against the
// kubelet CA. The caller's own credentials are never forwarded.
type nodeProxy struct {
	s         *server
	transport *http.Transport
}

var _ endpoints.Proxier = (*nodeProxy)(nil)

// newNodeProxy builds the proxy's transport. The client pair is re-read
// when its files change (renewal).
func newNodeProxy(s *server, certFile, keyFile, caFile string) (*nodeProxy, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--kubelet-certificate-authority: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("--kubelet-certificate-authority %s holds no PEM certificate", caFile)
	}
	pair := &filePair{certFile: certFile, keyFile: keyFile}
	if _, err := pair.get(); err != nil {
		return nil, fmt.Errorf("--kubelet-client-certificate/--kubelet-client-key: %w", err)
	}
	return &nodeProxy{s: s, transport: &http.Transport{
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return pair.get() }},
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}}, nil
}

// filePair is a certificate and key re-read when either file changes.
type filePair struct {
	certFile, keyFile string
	mu                sync.Mutex
	cert              *tls.Certificate
	stamp             string
}

func (p *filePair) get() (*tls.Certificate, error) {
	stamp := fileStamp(p.certFile) + "|" + fileStamp(p.keyFile)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cert != nil && stamp == p.stamp {
		return p.cert, nil
	}
	c, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		if p.cert != nil {
			return p.cert, nil // caught between the key and the certificate of a renewal
		}
		return nil, err
	}
	p.cert, p.stamp = &c, stamp
	return p.cert, nil
}

// ServeProxy implements endpoints.Proxier.
func (p *nodeProxy) ServeProxy(w http.ResponseWriter, r *http.Request, res *apis.Resource, info *request.Info) {
	if res.Group != "" || res.Plural != "nodes" {
		status.Write(w, apierrors.NewNotFound(res.GroupResource(), info.Name))
		return
	}
	target, err := p.target(r.Context(), res, info)
	if err != nil {
		status.Write(w, err)
		return
	}
	target.RawQuery = r.URL.RawQuery
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = target.Host
			// The caller authenticated to us, not to the node.
			pr.Out.Header.Del("Authorization")
			for k := range pr.Out.Header {
				if strings.HasPrefix(strings.ToLower(k), "impersonate-") {
					pr.Out.Header.Del(k)
				}
			}
		},
		Transport: p.transport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			status.Write(w, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach node %q: %v", info.Name, err)))
		},
	}
	rp.ServeHTTP(w, r)
}

// target is the node's agent URL: its InternalIP (else ExternalIP, else
// host name) and kubelet port; "name:port" picks the port.
func (p *nodeProxy) target(ctx context.Context, res *apis.Resource, info *request.Info) (*url.URL, error) {
	name, port, _ := strings.Cut(info.Name, ":")
	st, ok := p.s.stores.Store(res)
	if !ok {
		return nil, apierrors.NewServiceUnavailable("nodes are not served yet")
	}
	obj, err := st.Get(ctx, "", name, "")
	if err != nil {
		return nil, err
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return nil, apierrors.NewInternalError(errors.New("node store returned another type"))
	}
	host := ""
	for _, want := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == want && host == "" {
				host = a.Address
			}
		}
	}
	if host == "" {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %q reports no address", name))
	}
	if port == "" {
		n := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
		if n == 0 {
			n = DefaultKubeletPort
		}
		port = strconv.Itoa(n)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid port in %q", info.Name))
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, port), Path: info.ProxyPath}, nil
}

// ensureKubeletClient ensures pki/apiserver-kubelet-client.{crt,key}
// unless --kubelet-client-certificate names another pair.
func ensureKubeletClient(p *pki.ServerPKI, validity time.Duration) (certFile, keyFile string, spec pki.CertSpec, err error) {
	row, spec, err := pki.Layout().GetSpec(pki.CertAPIServerKubeletClient)
	if err != nil {
		return "", "", spec, err
	}
	if validity > 0 {
		spec.Validity = validity
	}
	kp, err := pki.Store{Dir: p.Dir}.EnsureLeaf(row.Base, p.CA, spec)
	if errors.Is(err, pki.ErrExpired) && p.CA.Key != nil {
		if err = os.Remove(row.CertPath(p.Dir)); err == nil {
			kp, err = pki.Store{Dir: p.Dir}.EnsureLeaf(row.Base, p.CA, spec)
		}
	}
	if err != nil {
		return "", "", spec, err
	}
	return kp.CertFile, kp.KeyFile, spec, nil
}

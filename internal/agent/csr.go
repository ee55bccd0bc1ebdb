package agent

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kastle-dev/kastle/internal/pki"
)

// Node identities, as the Node authorizer and the CSR approver expect.
const (
	nodeUserPrefix = "system:node:"
	nodesGroup     = "system:nodes"
)

// csrKind is what one certificate is for: its signer, usages and how the
// request is named.
type csrKind struct {
	signer       string
	usages       []certificatesv1.KeyUsage
	generateName string
}

// clientKind is a node's client certificate (kubelet's signer and usages).
func clientKind() csrKind {
	return csrKind{
		signer:       certificatesv1.KubeAPIServerClientKubeletSignerName,
		usages:       []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		generateName: "node-csr-",
	}
}

// servingKind is a node's serving certificate.
func servingKind() csrKind {
	return csrKind{
		signer:       certificatesv1.KubeletServingSignerName,
		usages:       []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
		generateName: "csr-",
	}
}

// newKey makes the agent's keys: ECDSA P-256, as kubelet's.
func newKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// clientRequest is the PKCS #10 request of a node's client certificate:
// CN system:node:<name>, O system:nodes, no SANs (the signer refuses any).
func clientRequest(nodeName string, key crypto.Signer) ([]byte, error) {
	return request(&x509.CertificateRequest{
		Subject: pkix.Name{CommonName: nodeUserPrefix + nodeName, Organization: []string{nodesGroup}},
	}, key)
}

// servingRequest is the request of a node's serving certificate: the node
// name as DNS name and the node IP as IP address.
func servingRequest(nodeName string, ip net.IP, key crypto.Signer) ([]byte, error) {
	if ip == nil {
		return nil, errors.New("agent: serving certificate request without an IP address")
	}
	return request(&x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: nodeUserPrefix + nodeName, Organization: []string{nodesGroup}},
		DNSNames:    []string{nodeName},
		IPAddresses: []net.IP{ip},
	}, key)
}

func request(tmpl *x509.CertificateRequest, key crypto.Signer) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("agent: create certificate request for %q: %w", tmpl.Subject.CommonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// requestCertificate creates a CSR of kind for csrPEM and waits until it
// is issued, denied or failed, or until timeout. It returns the issued
// certificate chain (PEM) and the CSR's name.
func requestCertificate(ctx context.Context, cs kubernetes.Interface, kind csrKind, csrPEM []byte, timeout time.Duration) ([]byte, string, error) {
	obj := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: kind.generateName},
		Spec:       certificatesv1.CertificateSigningRequestSpec{Request: csrPEM, SignerName: kind.signer, Usages: kind.usages},
	}
	var created *certificatesv1.CertificateSigningRequest
	err := retryTransient(ctx, func() error {
		var err error
		created, err = cs.CertificatesV1().CertificateSigningRequests().Create(ctx, obj, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("agent: create certificate signing request (signer %s): %w", kind.signer, err)
	}
	cert, err := waitIssued(ctx, cs, created, timeout)
	return cert, created.Name, err
}

// errNotIssued marks a CSR that was denied or failed: asking again the
// same way will not help.
var errNotIssued = errors.New("certificate signing request not issued")

// csrOutcome reads a CSR's status: the certificate when issued, an error
// wrapping errNotIssued when denied or failed, and (nil, nil) when it is
// still pending.
func csrOutcome(csr *certificatesv1.CertificateSigningRequest) ([]byte, error) {
	for _, c := range csr.Status.Conditions {
		if c.Status == corev1.ConditionFalse {
			continue
		}
		switch c.Type {
		case certificatesv1.CertificateDenied:
			return nil, fmt.Errorf("%w: %s was denied (reason %q: %s)", errNotIssued, csr.Name, c.Reason, c.Message)
		case certificatesv1.CertificateFailed:
			return nil, fmt.Errorf("%w: %s failed (reason %q: %s)", errNotIssued, csr.Name, c.Reason, c.Message)
		}
	}
	if len(csr.Status.Certificate) > 0 {
		return csr.Status.Certificate, nil
	}
	return nil, nil
}

// waitIssued watches csr until csrOutcome decides. Reads that fail (the
// Node authorizer may not know yet that a new CSR is the node's) are
// retried; watches that end are restarted from the last version seen.
func waitIssued(ctx context.Context, cs kubernetes.Interface, csr *certificatesv1.CertificateSigningRequest, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := csr.Name
	rv := csr.ResourceVersion
	var lastErr error
	backoff := 100 * time.Millisecond
	for {
		if cert, err := csrOutcome(csr); cert != nil || err != nil {
			return cert, err
		}
		w, err := cs.CertificatesV1().CertificateSigningRequests().Watch(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: rv,
		})
		if err == nil {
			cur, done, err := drain(ctx, w, name)
			w.Stop()
			if cur != nil {
				csr, rv = cur, cur.ResourceVersion
			}
			if done {
				continue
			}
			lastErr = err
		} else {
			lastErr = err
		}
		// The watch failed or ended: read the object (the version may be
		// too old to watch from) and back off.
		if got, err := cs.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{}); err == nil {
			csr, rv = got, got.ResourceVersion
			if cert, err := csrOutcome(csr); cert != nil || err != nil {
				return cert, err
			}
		} else if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %s was deleted before it was issued", errNotIssued, name)
		} else if ctx.Err() == nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return nil, timeoutError(name, timeout, lastErr)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func timeoutError(name string, timeout time.Duration, last error) error {
	if last != nil {
		return fmt.Errorf("agent: certificate signing request %s was not issued within %s (last error: %v); "+
			"is it approved? (kubectl get csr %s)", name, timeout, last, name)
	}
	return fmt.Errorf("agent: certificate signing request %s was not issued within %s; is it approved? (kubectl get csr %s)",
		name, timeout, name)
}

// drain reads w until the CSR reaches an outcome (done) or the watch ends.
func drain(ctx context.Context, w watch.Interface, name string) (*certificatesv1.CertificateSigningRequest, bool, error) {
	var last *certificatesv1.CertificateSigningRequest
	for {
		select {
		case <-ctx.Done():
			return last, false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return last, false, nil
			}
			switch ev.Type {
			case watch.Error:
				return last, false, apierrors.FromObject(ev.Object)
			case watch.Deleted:
				return last, false, fmt.Errorf("%s deleted", name)
			}
			csr, ok := ev.Object.(*certificatesv1.CertificateSigningRequest)
			if !ok || csr.Name != name {
				continue
			}
			last = csr
			if cert, err := csrOutcome(csr); cert != nil || err != nil {
				return last, true, nil
			}
		}
	}
}

// retryTransient calls f until it succeeds, fails for a reason retrying
// cannot fix, or ctx ends. The API server may be starting or briefly
// unavailable; a forbidden or invalid request is final.
func retryTransient(ctx context.Context, f func() error) error {
	backoff := 200 * time.Millisecond
	for {
		err := f()
		if err == nil || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// transient reports errors worth retrying.
func transient(err error) bool {
	switch {
	case apierrors.IsForbidden(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err),
		apierrors.IsUnauthorized(err), apierrors.IsAlreadyExists(err), apierrors.IsNotFound(err),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	return true
}

type ecdsaKey = ecdsa.PrivateKey

// obtain makes a new key, a request for it (build), asks for a certificate
// of kind through cs, and stores the result.
func obtain(ctx context.Context, cs kubernetes.Interface, kind csrKind, store *certStore, timeout time.Duration,
	log *slog.Logger, build func(*ecdsaKey) ([]byte, error)) (*tls.Certificate, error) {
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("agent: generate key: %w", err)
	}
	req, err := build(key)
	if err != nil {
		return nil, err
	}
	certPEM, name, err := requestCertificate(ctx, cs, kind, req, timeout)
	if err != nil {
		return nil, err
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	pair, err := store.Write(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	log.Info("certificate issued", "csr", name, "signer", kind.signer, "file", store.CurrentPath(),
		"notAfter", pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return pair, nil
}

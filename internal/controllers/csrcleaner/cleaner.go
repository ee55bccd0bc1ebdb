package csrcleaner

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	certinformers "k8s.io/client-go/informers/certificates/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	"k8s.io/client-go/tools/cache"
)

// Retention of finished and abandoned requests, as Kubernetes keeps them.
const (
	ApprovedRetention = time.Hour
	DeniedRetention   = time.Hour
	FailedRetention   = time.Hour
	PendingRetention  = 24 * time.Hour
)

// Cleaner deletes stale CSRs on every tick. Create it with New.
type Cleaner struct {
	client   kubernetes.Interface
	lister   certlisters.CertificateSigningRequestLister
	synced   cache.InformerSynced
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger
}

// New returns a cleaner that looks every interval (0 means one minute).
func New(client kubernetes.Interface, informer certinformers.CertificateSigningRequestInformer, interval time.Duration, log *slog.Logger) *Cleaner {
	if interval <= 0 {
		interval = time.Minute
	}
	return &Cleaner{client: client, lister: informer.Lister(), synced: informer.Informer().HasSynced, interval: interval, now: time.Now, log: log}
}

// Run cleans until ctx ends.
func (c *Cleaner) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		c.cleanOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Cleaner) cleanOnce(ctx context.Context) {
	csrs, err := c.lister.List(labels.Everything())
	if err != nil {
		c.log.Warn("listing CSRs", "err", err)
		return
	}
	for _, csr := range csrs {
		why := Stale(csr, c.now())
		if why == "" {
			continue
		}
		err := c.client.CertificatesV1().CertificateSigningRequests().Delete(ctx, csr.Name,
			metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &csr.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			c.log.Warn("deleting CSR", "csr", csr.Name, "err", err)
			continue
		}
		c.log.Info("deleted stale CSR", "csr", csr.Name, "reason", why)
	}
}

// Stale says why csr should go ("" to keep it): its certificate has
// expired; it was approved, denied or failed over an hour ago; or it has
// been pending for a day.
func Stale(csr *certificatesv1.CertificateSigningRequest, now time.Time) string {
	if expired(csr.Status.Certificate, now) {
		return "its certificate has expired"
	}
	for _, cond := range csr.Status.Conditions {
		at := cond.LastUpdateTime.Time
		if at.IsZero() {
			at = csr.CreationTimestamp.Time
		}
		switch cond.Type {
		case certificatesv1.CertificateApproved:
			if now.Sub(at) > ApprovedRetention {
				return "approved more than an hour ago"
			}
		case certificatesv1.CertificateDenied:
			if now.Sub(at) > DeniedRetention {
				return "denied more than an hour ago"
			}
		case certificatesv1.CertificateFailed:
			if now.Sub(at) > FailedRetention {
				return "failed more than an hour ago"
			}
		}
	}
	if len(csr.Status.Conditions) == 0 && now.Sub(csr.CreationTimestamp.Time) > PendingRetention {
		return "pending for more than a day"
	}
	return ""
}

func expired(certPEM []byte, now time.Time) bool {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	return err == nil && now.After(cert.NotAfter)
}

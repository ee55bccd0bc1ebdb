package csrsigning

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certinformers "k8s.io/client-go/informers/certificates/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kastle-dev/kastle/internal/controllers/queue"
)

// Controller signs approved CSRs of the built-in signers. Create it with
// New and start it with Run.
type Controller struct {
	client kubernetes.Interface
	lister certlisters.CertificateSigningRequestLister
	synced cache.InformerSynced
	signer *Signer
	log    *slog.Logger
	q      *queue.Queue
	// Record keeps the issuance record of a certificate before it is
	// handed out: a certificate that cannot be recorded is not issued (the
	// CSR is retried). nil records nothing.
	Record func(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, cert *x509.Certificate) error
}

// New wires the controller to the CSR informer.
func New(client kubernetes.Interface, informer certinformers.CertificateSigningRequestInformer, signer *Signer, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, lister: informer.Lister(), synced: informer.Informer().HasSynced, signer: signer, log: log}
	c.q = queue.New("csrsigning", c.sync, log)
	return c, c.q.Follow(informer.Informer())
}

// inFlightPerWorker is how many CSRs each worker's share of the queue
// keeps in flight. Signing takes ~0.2 ms of CPU, then waits on two API
// round trips (the record, then the status), each an etcd commit: with
// more in flight the server's etcd batches commits, which costs less CPU
// per certificate on both ends (see docs/performance.md).
const inFlightPerWorker = 4

// Run works until ctx ends, with workers×inFlightPerWorker goroutines.
func (c *Controller) Run(ctx context.Context, workers int) {
	c.q.Run(ctx, workers*inFlightPerWorker, c.synced)
}

// sync signs one CSR if it is approved, not failed, not yet issued and
// for a signer handled here.
func (c *Controller) sync(ctx context.Context, key string) error {
	csr, err := c.lister.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(csr.Status.Certificate) > 0 || !c.signer.Handles(csr.Spec.SignerName) || !Approved(csr) || HasCondition(csr, certificatesv1.CertificateFailed) {
		return nil
	}
	cert, err := c.signer.Issue(csr)
	var rule *RuleError
	if errors.As(err, &rule) {
		c.log.Info("refusing to sign", "csr", csr.Name, "signer", csr.Spec.SignerName, "reason", rule.Msg)
		return c.fail(ctx, csr, rule.Msg)
	}
	if err != nil {
		return fmt.Errorf("signing %s: %w", csr.Name, err)
	}
	if c.Record != nil {
		if err := c.Record(ctx, csr, cert); err != nil {
			return fmt.Errorf("recording the certificate of %s: %w", csr.Name, err)
		}
	}
	out := csr.DeepCopy()
	out.Status.Certificate = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	if _, err := c.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, out, metav1.UpdateOptions{FieldManager: "kastle-csrsigning"}); err != nil {
		return err
	}
	c.log.Info("signed certificate", "csr", csr.Name, "signer", csr.Spec.SignerName, "user", csr.Spec.Username)
	return nil
}

// fail records a refusal as the Failed condition, where the requester and
// `kubectl get csr` see it.
func (c *Controller) fail(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, msg string) error {
	out := csr.DeepCopy()
	now := metav1.Now()
	out.Status.Conditions = append(out.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue,
		Reason: "SignerValidationFailure", Message: msg, LastUpdateTime: now, LastTransitionTime: now,
	})
	_, err := c.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, out, metav1.UpdateOptions{FieldManager: "kastle-csrsigning"})
	return err
}

// Approved reports whether csr is approved and not denied.
func Approved(csr *certificatesv1.CertificateSigningRequest) bool {
	return HasCondition(csr, certificatesv1.CertificateApproved) && !HasCondition(csr, certificatesv1.CertificateDenied)
}

// HasCondition reports whether csr has condition t with status True (or no
// status, as old clients wrote).
func HasCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t && (c.Status == "" || c.Status == corev1.ConditionTrue) {
			return true
		}
	}
	return false
}

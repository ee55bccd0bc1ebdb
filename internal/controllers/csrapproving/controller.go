package csrapproving

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certinformers "k8s.io/client-go/informers/certificates/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kastle-dev/kastle/internal/controllers/csrsigning"
	"github.com/kastle-dev/kastle/internal/controllers/queue"
)

// notYet starts the reasons a serving request may pass later (the Node is
// not registered, or has not reported those addresses yet);
// recheckServing is how soon it is looked at again.
const (
	notYet         = "not yet: "
	recheckServing = 15 * time.Second
)

// Controller approves the CSRs it recognises. Create it with New and
// start it with Run.
type Controller struct {
	client kubernetes.Interface
	lister certlisters.CertificateSigningRequestLister
	synced cache.InformerSynced
	log    *slog.Logger
	q      *queue.Queue
	// approveServing enables the kubelet-serving recogniser
	// (--approve-kubelet-serving).
	approveServing bool
}

// New wires the controller to the CSR informer. With approveServing,
// kubelet serving CSRs are approved when every SAN is an address of the
// requesting Node; otherwise they stay for a person to approve.
func New(client kubernetes.Interface, informer certinformers.CertificateSigningRequestInformer, approveServing bool, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, lister: informer.Lister(), synced: informer.Informer().HasSynced, log: log, approveServing: approveServing}
	c.q = queue.New("csrapproving", c.sync, log)
	return c, c.q.Follow(informer.Informer())
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	c.q.Run(ctx, workers, c.synced)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	csr, err := c.lister.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(csr.Status.Certificate) > 0 || csrsigning.HasCondition(csr, certificatesv1.CertificateApproved) ||
		csrsigning.HasCondition(csr, certificatesv1.CertificateDenied) || csrsigning.HasCondition(csr, certificatesv1.CertificateFailed) {
		return nil
	}
	var (
		ok     bool
		reason string
	)
	switch csr.Spec.SignerName {
	case csrsigning.SignerAPIServerClientKubelet:
		ok, reason, err = c.kubeletClient(ctx, csr)
	case csrsigning.SignerKubeletServing:
		if !c.approveServing {
			return nil
		}
		ok, reason, err = c.kubeletServing(ctx, csr)
	default:
		return nil
	}
	if err != nil || !ok {
		if err == nil && reason != "" {
			c.log.Info("not approving", "csr", csr.Name, "signer", csr.Spec.SignerName, "reason", reason)
		}
		if err == nil && csr.Spec.SignerName == csrsigning.SignerKubeletServing && strings.HasPrefix(reason, notYet) {
			// The Node may register, or report its addresses, later:
			// look again (until the cleaner drops the request).
			c.q.AddAfter(key, recheckServing)
		}
		return err
	}
	out := csr.DeepCopy()
	now := metav1.Now()
	out.Status.Conditions = append(out.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
		Reason: "AutoApproved", Message: reason, LastUpdateTime: now, LastTransitionTime: now,
	})
	_, err = c.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, out, metav1.UpdateOptions{FieldManager: "kastle-csrapproving"})
	if err == nil {
		c.log.Info("approved", "csr", csr.Name, "signer", csr.Spec.SignerName, "user", csr.Spec.Username)
	}
	return err
}

// kubeletClient recognises a well-formed kubelet client request and
// approves it when the requester may create
// certificatesigningrequests/selfnodeclient (renewing its own identity:
// CN equals the requester) or certificatesigningrequests/nodeclient (a
// bootstrapper asking for a node identity).
func (c *Controller) kubeletClient(ctx context.Context, csr *certificatesv1.CertificateSigningRequest) (bool, string, error) {
	req, err := csrsigning.ParseRequest(csr.Spec.Request)
	if err != nil {
		return false, err.Error(), nil
	}
	if err := csrsigning.CheckSignerRules(csr.Spec.SignerName, req, csr.Spec.Usages); err != nil {
		return false, err.Error(), nil
	}
	if req.Subject.CommonName == csr.Spec.Username {
		ok, err := c.allowed(ctx, csr, "selfnodeclient")
		if err != nil || ok {
			return ok, "Auto approving self kubelet client certificate after SubjectAccessReview.", err
		}
	}
	ok, err := c.allowed(ctx, csr, "nodeclient")
	if err != nil || ok {
		return ok, "Auto approving kubelet client certificate after SubjectAccessReview.", err
	}
	return false, "the requester may not create certificatesigningrequests/nodeclient or selfnodeclient", nil
}

// allowed asks, with a SubjectAccessReview for the requester, whether it
// may create certificatesigningrequests/<sub>.
func (c *Controller) allowed(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, sub string) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range csr.Spec.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: csr.Spec.Username, UID: csr.Spec.UID, Groups: csr.Spec.Groups, Extra: extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Group: certificatesv1.GroupName, Resource: "certificatesigningrequests", Subresource: sub, Verb: "create",
		},
	}}
	out, err := c.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("subject access review for %s: %w", csr.Name, err)
	}
	return out.Status.Allowed, nil
}

// kubeletServing approves a kubelet serving request only when the
// requester is the node itself (system:node:<name> in system:nodes, CN
// equal to the requester) and every DNS and IP SAN is one of that Node's
// status.addresses: a node cannot get a certificate for a name or address
// that is not its own. (Kubernetes leaves this check to third-party
// approvers; see its issue 73356.)
func (c *Controller) kubeletServing(ctx context.Context, csr *certificatesv1.CertificateSigningRequest) (bool, string, error) {
	req, err := csrsigning.ParseRequest(csr.Spec.Request)
	if err != nil {
		return false, err.Error(), nil
	}
	if err := csrsigning.CheckSignerRules(csr.Spec.SignerName, req, csr.Spec.Usages); err != nil {
		return false, err.Error(), nil
	}
	name, isNode := strings.CutPrefix(csr.Spec.Username, "system:node:")
	if !isNode || name == "" || !slices.Contains(csr.Spec.Groups, "system:nodes") {
		return false, fmt.Sprintf("requester %q is not a node", csr.Spec.Username), nil
	}
	if req.Subject.CommonName != csr.Spec.Username {
		return false, fmt.Sprintf("common name %q is not the requester %q", req.Subject.CommonName, csr.Spec.Username), nil
	}
	node, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, fmt.Sprintf("%snode %q does not exist", notYet, name), nil
	}
	if err != nil {
		return false, "", err
	}
	if bad := foreignSANs(req, node); len(bad) > 0 {
		return false, fmt.Sprintf("%ssubject alternative names %v are not addresses of node %q", notYet, bad, name), nil
	}
	return true, "Auto approving kubelet serving certificate: every SAN is an address of the requesting node.", nil
}

// foreignSANs lists the request's DNS and IP SANs that are not among the
// node's status.addresses (host names and DNS names for DNS SANs, IPs for
// IP SANs).
func foreignSANs(req *x509.CertificateRequest, node *corev1.Node) []string {
	dns, ips := map[string]bool{}, []net.IP{}
	for _, a := range node.Status.Addresses {
		switch a.Type {
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			dns[strings.ToLower(a.Address)] = true
		case corev1.NodeInternalIP, corev1.NodeExternalIP:
			if ip := net.ParseIP(a.Address); ip != nil {
				ips = append(ips, ip)
			}
		}
	}
	var bad []string
	for _, d := range req.DNSNames {
		if !dns[strings.ToLower(d)] {
			bad = append(bad, d)
		}
	}
	for _, ip := range req.IPAddresses {
		if !slices.ContainsFunc(ips, ip.Equal) {
			bad = append(bad, ip.String())
		}
	}
	return bad
}

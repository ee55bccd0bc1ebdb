package admission

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/registry"
)

// signerAllowed asks whether the requester may verb ("approve" or "sign")
// the signer: on signers/<name> or signers/<domain>/*, as Kubernetes does.
func signerAllowed(ctx context.Context, z authz.Authorizer, verb, signer string) (bool, error) {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return false, errors.New("no requesting user")
	}
	names := []string{signer}
	if i := strings.Index(signer, "/"); i > 0 {
		names = append(names, signer[:i]+"/*")
	}
	for _, n := range names {
		d, _, err := z.Authorize(ctx, authz.Attributes{User: u, Info: &request.Info{
			IsResourceRequest: true, Verb: verb, APIGroup: "certificates.k8s.io", APIVersion: "v1", Resource: "signers", Name: n,
		}})
		if err != nil {
			return false, err
		}
		if d == authz.Allow {
			return true, nil
		}
	}
	return false, nil
}

func isCSR(a *registry.Attributes) bool {
	return a.Resource.Group == "certificates.k8s.io" && a.Resource.Plural == "certificatesigningrequests"
}

// CertificateApproval requires "approve" on the signer to approve or deny
// a CertificateSigningRequest through its approval subresource.
type CertificateApproval struct{ Authorizer authz.Authorizer }

// Admit does nothing.
func (p *CertificateApproval) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate checks updates of certificatesigningrequests/approval.
func (p *CertificateApproval) Validate(ctx context.Context, a *registry.Attributes) error {
	if !isCSR(a) || a.Subresource != "approval" || a.Operation != registry.Update {
		return nil
	}
	csr, ok := a.Object.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return nil
	}
	allowed, err := signerAllowed(ctx, p.Authorizer, "approve", csr.Spec.SignerName)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if !allowed {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
			fmt.Errorf("user not permitted to approve requests with signerName %q", csr.Spec.SignerName))
	}
	return nil
}

// CertificateSigning requires "sign" on the signer to set or change
// status.certificate.
type CertificateSigning struct{ Authorizer authz.Authorizer }

// Admit does nothing.
func (p *CertificateSigning) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate checks updates of certificatesigningrequests/status that
// change the certificate.
func (p *CertificateSigning) Validate(ctx context.Context, a *registry.Attributes) error {
	if !isCSR(a) || a.Subresource != "status" || a.Operation != registry.Update {
		return nil
	}
	csr, ok1 := a.Object.(*certificatesv1.CertificateSigningRequest)
	old, ok2 := a.OldObject.(*certificatesv1.CertificateSigningRequest)
	if !ok1 || !ok2 || string(csr.Status.Certificate) == string(old.Status.Certificate) {
		return nil
	}
	allowed, err := signerAllowed(ctx, p.Authorizer, "sign", csr.Spec.SignerName)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if !allowed {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
			fmt.Errorf("user not permitted to sign requests with signerName %q", csr.Spec.SignerName))
	}
	return nil
}

// CertificateSubjectRestriction refuses kube-apiserver-client requests
// for the system:masters group: such a certificate would be cluster-admin
// forever (Kubernetes cannot revoke client certificates).
type CertificateSubjectRestriction struct{}

// Admit does nothing.
func (CertificateSubjectRestriction) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate checks creates of kube-apiserver-client CSRs.
func (CertificateSubjectRestriction) Validate(_ context.Context, a *registry.Attributes) error {
	if !isCSR(a) || a.Operation != registry.Create {
		return nil
	}
	csr, ok := a.Object.(*certificatesv1.CertificateSigningRequest)
	if !ok || csr.Spec.SignerName != certificatesv1.KubeAPIServerClientSignerName {
		return nil
	}
	block, _ := pem.Decode(csr.Spec.Request)
	if block == nil {
		return nil // validation reports the malformed request
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil
	}
	for _, o := range req.Subject.Organization {
		if o == "system:masters" {
			return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
				fmt.Errorf("use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"))
		}
	}
	return nil
}

package admission

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/registry"
)

// signers allows approve/sign only on signers named in allowed.
type signers map[string]bool

func (s signers) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	if a.Info.Resource == "signers" && s[a.Info.Verb+" "+a.Info.Name] {
		return authz.Allow, "", nil
	}
	return authz.NoOpinion, "", nil
}

func csrRequest(t *testing.T, orgs ...string) []byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "u", Organization: orgs}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestCertificatePlugins(t *testing.T) {
	cat, _ := apis.NewCatalogue()
	csrs, _ := cat.Lookup("certificates.k8s.io", "v1", "certificatesigningrequests")
	ctx := request.WithUser(context.Background(), &user.Info{Name: "approver"})
	csr := func(signer string, cert string, orgs ...string) *certificatesv1.CertificateSigningRequest {
		c := &certificatesv1.CertificateSigningRequest{}
		c.Name = "x"
		c.Spec.SignerName, c.Spec.Request = signer, csrRequest(t, orgs...)
		c.Status.Certificate = []byte(cert)
		return c
	}
	z := signers{"approve example.com/*": true, "sign example.com/one": true}
	tests := []struct {
		name   string
		plugin Plugin
		attrs  registry.Attributes
		denied bool
	}{
		{"approve allowed by domain wildcard", &CertificateApproval{z}, registry.Attributes{Operation: registry.Update, Subresource: "approval", Object: csr("example.com/any", "")}, false},
		{"approve other signer", &CertificateApproval{z}, registry.Attributes{Operation: registry.Update, Subresource: "approval", Object: csr("other.io/x", "")}, true},
		{"sign allowed", &CertificateSigning{z}, registry.Attributes{Operation: registry.Update, Subresource: "status", Object: csr("example.com/one", "CERT"), OldObject: csr("example.com/one", "")}, false},
		{"sign denied", &CertificateSigning{z}, registry.Attributes{Operation: registry.Update, Subresource: "status", Object: csr("example.com/two", "CERT"), OldObject: csr("example.com/two", "")}, true},
		{"status without certificate change", &CertificateSigning{z}, registry.Attributes{Operation: registry.Update, Subresource: "status", Object: csr("other.io/x", ""), OldObject: csr("other.io/x", "")}, false},
		{"masters client cert", CertificateSubjectRestriction{}, registry.Attributes{Operation: registry.Create, Object: csr(certificatesv1.KubeAPIServerClientSignerName, "", "system:masters")}, true},
		{"ordinary client cert", CertificateSubjectRestriction{}, registry.Attributes{Operation: registry.Create, Object: csr(certificatesv1.KubeAPIServerClientSignerName, "", "devs")}, false},
		{"masters for another signer", CertificateSubjectRestriction{}, registry.Attributes{Operation: registry.Create, Object: csr("example.com/one", "", "system:masters")}, false},
	}
	for _, tt := range tests {
		a := tt.attrs
		a.Resource, a.Name = csrs, "x"
		err := tt.plugin.Validate(ctx, &a)
		if denied := apierrors.IsForbidden(err); denied != tt.denied || (err != nil && !denied) {
			t.Errorf("%s: %v, want denied=%v", tt.name, err, tt.denied)
		}
	}
}

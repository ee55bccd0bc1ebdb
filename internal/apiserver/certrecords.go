package apiserver

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kastle-dev/kastle/internal/auth/authn"
	"github.com/kastle-dev/kastle/internal/certrecord"
	"github.com/kastle-dev/kastle/internal/registry"
)

// ensureRecordCRD installs the IssuedCertificate CRD unless it exists.
// It runs before the CRD controller starts, which then serves it at once.
func (s *server) ensureRecordCRD(ctx context.Context) error {
	st, _ := s.stores.Store(mustLookup(s.catalogue, "apiextensions.k8s.io", "v1", "customresourcedefinitions"))
	crd := certrecord.CRD()
	// Any cached state will do: a stale miss ends in AlreadyExists below.
	if _, err := st.Get(ctx, "", crd.Name, "0"); err == nil {
		return nil
	}
	obj := st.Resource.New().(*apiextensionsv1.CustomResourceDefinition)
	crd.TypeMeta = obj.TypeMeta
	_, err := st.Create(ctx, "", crd, registry.WriteOptions{FieldManager: "kastle"})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("installing the %s CRD: %w", crd.Name, err)
	}
	return nil
}

// recordStore returns the IssuedCertificate store, or false when the CRD
// is not served (deleted by an administrator).
func (s *server) recordStore() (*registry.Store, bool) {
	r, ok := s.catalogue.Lookup(certrecord.Group, certrecord.Version, certrecord.Resource)
	if !ok {
		return nil, false
	}
	return s.stores.Store(r)
}

// recordCertificates records the control plane's own certificates
// (create-if-absent: a restart records nothing new).
func (s *server) recordCertificates(ctx context.Context, certs map[string]*x509.Certificate) {
	st, ok := s.recordStore()
	if !ok {
		s.log.Warn("issuance record not served: control plane certificates not recorded")
		return
	}
	for row, cert := range certs {
		rec := certrecord.FromCertificate(cert)
		rec.Signer, rec.Requester, rec.Source = row, "kastle server", certrecord.SourcePKI
		_, err := st.Create(ctx, "", rec.Object(), registry.WriteOptions{FieldManager: "kastle"})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			s.log.Warn("recording a certificate", "certificate", row, "err", err)
		}
	}
}

// recordRevocation refuses client certificates whose issuance record is
// revoked: `kastle certs revoke` takes effect on the next request.
type recordRevocation struct{ s *server }

var _ authn.RevocationChecker = recordRevocation{}

// CheckRevoked implements authn.RevocationChecker. A certificate without
// a record (issued elsewhere) is not revoked by it; a record that cannot
// be read fails closed.
func (c recordRevocation) CheckRevoked(chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return errors.New("no certificate")
	}
	st, ok := c.s.recordStore()
	if !ok {
		return nil
	}
	leaf := chain[0]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	obj, err := st.Get(ctx, "", certrecord.Name(leaf.SerialNumber), "0")
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the issuance record of serial %x: %w", leaf.SerialNumber, err)
	}
	if u, ok := obj.(*unstructured.Unstructured); ok {
		// Most records are not revoked: skip reading the whole record,
		// which this runs for on every request with a client certificate.
		if _, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "revocation"); !found {
			return nil
		}
	}
	rec, err := certrecord.FromObject(obj)
	if err != nil {
		return err
	}
	if rec.Revoked == nil || (rec.IssuerKeyID != "" && rec.IssuerKeyID != hex.EncodeToString(leaf.AuthorityKeyId)) {
		return nil
	}
	return fmt.Errorf("%w: serial %x (%s) at %s: %s", authn.ErrRevoked, leaf.SerialNumber, rec.Subject, rec.Revoked.At.Format(time.RFC3339), rec.Revoked.Reason)
}

// revocations checks every configured source in turn.
type revocations []authn.RevocationChecker

func (rs revocations) CheckRevoked(chain []*x509.Certificate) error {
	for _, r := range rs {
		if err := r.CheckRevoked(chain); err != nil {
			return err
		}
	}
	return nil
}

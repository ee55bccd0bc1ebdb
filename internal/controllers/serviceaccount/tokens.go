package serviceaccount

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/registry"
)

// LegacyIssuer signs legacy (Secret-based) service-account tokens.
type LegacyIssuer interface {
	IssueLegacyToken(namespace, serviceAccount, serviceAccountUID, secretName string) (string, error)
}

// FillLegacyToken completes a service-account token Secret: token,
// ca.crt and namespace, and the service account's uid annotation. A
// Secret naming a missing (or replaced) ServiceAccount is deleted, as
// Kubernetes' token controller does, so no token outlives its account.
func FillLegacyToken(ctx context.Context, secrets, accounts *registry.Store, issuer LegacyIssuer, caPEM string, sec *corev1.Secret) error {
	if sec.Type != corev1.SecretTypeServiceAccountToken || sec.DeletionTimestamp != nil {
		return nil
	}
	saName := sec.Annotations[corev1.ServiceAccountNameKey]
	obj, err := accounts.Get(ctx, sec.Namespace, saName, "")
	gone := apierrors.IsNotFound(err)
	if err != nil && !gone {
		return err
	}
	var sa *corev1.ServiceAccount
	if !gone {
		sa = obj.(*corev1.ServiceAccount)
		if uid := sec.Annotations[corev1.ServiceAccountUIDKey]; uid != "" && uid != string(sa.UID) {
			gone = true
		}
	}
	if gone {
		_, err := secrets.Delete(ctx, sec.Namespace, sec.Name, nil, false)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if len(sec.Data[corev1.ServiceAccountTokenKey]) > 0 && sec.Annotations[corev1.ServiceAccountUIDKey] == string(sa.UID) {
		return nil
	}
	token, err := issuer.IssueLegacyToken(sec.Namespace, sa.Name, string(sa.UID), sec.Name)
	if err != nil {
		return err
	}
	_, err = secrets.Update(ctx, sec.Namespace, sec.Name, func(o runtime.Object) (runtime.Object, error) {
		s := o.(*corev1.Secret)
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[corev1.ServiceAccountTokenKey] = []byte(token)
		s.Data[corev1.ServiceAccountRootCAKey] = []byte(caPEM)
		s.Data[corev1.ServiceAccountNamespaceKey] = []byte(s.Namespace)
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[corev1.ServiceAccountUIDKey] = string(sa.UID)
		return s, nil
	}, registry.WriteOptions{FieldManager: "kastle-token-controller"})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

package serviceaccount

import (
	"bytes"
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kastle-dev/kastle/internal/controllers/queue"
)

// LegacyIssuer signs legacy (Secret-based) service-account tokens.
type LegacyIssuer interface {
	IssueLegacyToken(namespace, serviceAccount, serviceAccountUID, secretName string) (string, error)
}

// SecretFieldSelector narrows a Secret informer to the token Secrets.
const SecretFieldSelector = "type=" + string(corev1.SecretTypeServiceAccountToken)

// TokenController fills legacy token Secrets. Create it with New.
type TokenController struct {
	client   kubernetes.Interface
	secrets  corelisters.SecretLister
	accounts corelisters.ServiceAccountLister
	synced   []cache.InformerSynced
	issuer   LegacyIssuer
	caPEM    []byte
	q        *queue.Queue
	log      *slog.Logger
}

// New wires the controller to a Secret informer (which may be narrowed
// with SecretFieldSelector) and a ServiceAccount informer. caPEM goes
// into each Secret's ca.crt.
func New(client kubernetes.Interface, secrets coreinformers.SecretInformer, accounts coreinformers.ServiceAccountInformer,
	issuer LegacyIssuer, caPEM []byte, log *slog.Logger) (*TokenController, error) {
	c := &TokenController{client: client, secrets: secrets.Lister(), accounts: accounts.Lister(), issuer: issuer, caPEM: caPEM, log: log,
		synced: []cache.InformerSynced{secrets.Informer().HasSynced, accounts.Informer().HasSynced}}
	c.q = queue.New("serviceaccount-token", c.sync, log)
	if err := c.q.Follow(secrets.Informer()); err != nil {
		return nil, err
	}
	// A changed or deleted account: its Secrets are checked again.
	byAccount := func(obj interface{}) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		sa, ok := obj.(*corev1.ServiceAccount)
		if !ok {
			return
		}
		list, err := c.secrets.Secrets(sa.Namespace).List(labels.Everything())
		if err != nil {
			return
		}
		for _, s := range list {
			if s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountNameKey] == sa.Name {
				c.q.AddObject(s)
			}
		}
	}
	_, err := accounts.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: byAccount, UpdateFunc: func(_, obj interface{}) { byAccount(obj) }, DeleteFunc: byAccount,
	})
	return c, err
}

// Run works until ctx ends.
func (c *TokenController) Run(ctx context.Context, workers int) {
	c.q.Run(ctx, workers, c.synced...)
}

// sync completes one Secret: token, ca.crt, namespace and the account's
// uid annotation. A Secret naming a missing (or replaced) ServiceAccount
// is deleted, as Kubernetes' token controller does, so no token outlives
// its account.
func (c *TokenController) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	sec, err := c.secrets.Secrets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if sec.Type != corev1.SecretTypeServiceAccountToken || sec.DeletionTimestamp != nil || sec.Annotations[corev1.ServiceAccountNameKey] == "" {
		return nil
	}
	sa, err := c.account(ctx, sec)
	if err != nil {
		return err
	}
	if sa == nil {
		uid := sec.UID
		err := c.client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	if len(sec.Data[corev1.ServiceAccountTokenKey]) > 0 && sec.Annotations[corev1.ServiceAccountUIDKey] == string(sa.UID) &&
		bytes.Equal(sec.Data[corev1.ServiceAccountRootCAKey], c.caPEM) && string(sec.Data[corev1.ServiceAccountNamespaceKey]) == ns {
		return nil
	}
	out := sec.DeepCopy()
	if len(out.Data[corev1.ServiceAccountTokenKey]) == 0 || out.Annotations[corev1.ServiceAccountUIDKey] != string(sa.UID) {
		token, err := c.issuer.IssueLegacyToken(ns, sa.Name, string(sa.UID), name)
		if err != nil {
			return err
		}
		if out.Data == nil {
			out.Data = map[string][]byte{}
		}
		out.Data[corev1.ServiceAccountTokenKey] = []byte(token)
	}
	out.Data[corev1.ServiceAccountRootCAKey] = c.caPEM
	out.Data[corev1.ServiceAccountNamespaceKey] = []byte(ns)
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[corev1.ServiceAccountUIDKey] = string(sa.UID)
	_, err = c.client.CoreV1().Secrets(ns).Update(ctx, out, metav1.UpdateOptions{FieldManager: "kastle-token-controller"})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err // a conflict retries from the informer's newer copy
}

// account returns the Secret's ServiceAccount, or nil when it is gone or
// is not the one the Secret was made for. Before concluding that, it
// reads the API: the informer may not have seen a new account yet.
func (c *TokenController) account(ctx context.Context, sec *corev1.Secret) (*corev1.ServiceAccount, error) {
	name, uid := sec.Annotations[corev1.ServiceAccountNameKey], sec.Annotations[corev1.ServiceAccountUIDKey]
	sa, err := c.accounts.ServiceAccounts(sec.Namespace).Get(name)
	if err == nil && (uid == "" || uid == string(sa.UID)) {
		return sa, nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	sa, err = c.client.CoreV1().ServiceAccounts(sec.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if uid != "" && uid != string(sa.UID) {
		return nil, nil
	}
	return sa, nil
}

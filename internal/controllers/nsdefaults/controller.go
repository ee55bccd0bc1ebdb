package nsdefaults

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kastle-dev/kastle/internal/controllers/queue"
)

// Names of what every namespace gets, as Kubernetes names them.
const (
	DefaultServiceAccount = "default"
	RootCAConfigMap       = "kube-root-ca.crt"
	RootCAKey             = "ca.crt"
)

// Controller keeps each namespace's defaults. Create it with New.
type Controller struct {
	client   kubernetes.Interface
	ns       corelisters.NamespaceLister
	accounts corelisters.ServiceAccountLister
	cms      corelisters.ConfigMapLister
	synced   []cache.InformerSynced
	caPEM    string
	ensureSA bool
	q        *queue.Queue
	log      *slog.Logger
}

// New wires the controller to namespace, service account and ConfigMap
// informers (the last may be narrowed to kube-root-ca.crt). ensureAccounts
// keeps the default ServiceAccounts; an empty caPEM publishes no root CA.
func New(client kubernetes.Interface, namespaces coreinformers.NamespaceInformer, accounts coreinformers.ServiceAccountInformer,
	configMaps coreinformers.ConfigMapInformer, ensureAccounts bool, caPEM string, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, ns: namespaces.Lister(), accounts: accounts.Lister(), cms: configMaps.Lister(), caPEM: caPEM, log: log,
		ensureSA: ensureAccounts,
		synced:   []cache.InformerSynced{namespaces.Informer().HasSynced, accounts.Informer().HasSynced, configMaps.Informer().HasSynced}}
	c.q = queue.New("nsdefaults", c.sync, log)
	byNamespace := func(obj interface{}) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if m, ok := obj.(metav1.Object); ok {
			switch o := obj.(type) {
			case *corev1.Namespace:
				c.q.Add(o.Name)
			case *corev1.ServiceAccount, *corev1.ConfigMap:
				if m.GetName() == DefaultServiceAccount || m.GetName() == RootCAConfigMap {
					c.q.Add(m.GetNamespace())
				}
			}
		}
	}
	h := cache.ResourceEventHandlerFuncs{AddFunc: byNamespace, UpdateFunc: func(_, o interface{}) { byNamespace(o) }, DeleteFunc: byNamespace}
	for _, inf := range []cache.SharedIndexInformer{namespaces.Informer(), accounts.Informer(), configMaps.Informer()} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	c.q.Run(ctx, workers, c.synced...)
}

func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.ns.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	if err := c.ensureAccount(ctx, name); err != nil {
		return err
	}
	return c.ensureRootCA(ctx, name)
}

func (c *Controller) ensureAccount(ctx context.Context, ns string) error {
	if !c.ensureSA {
		return nil
	}
	if _, err := c.accounts.ServiceAccounts(ns).Get(DefaultServiceAccount); err == nil {
		return nil
	}
	_, err := c.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultServiceAccount}},
		metav1.CreateOptions{FieldManager: "kastle-serviceaccount-controller"})
	if ignorable(err) {
		return nil
	}
	return err
}

func (c *Controller) ensureRootCA(ctx context.Context, ns string) error {
	if c.caPEM == "" {
		return nil
	}
	want := map[string]string{RootCAKey: c.caPEM}
	cm, err := c.cms.ConfigMaps(ns).Get(RootCAConfigMap)
	if apierrors.IsNotFound(err) {
		_, err = c.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: RootCAConfigMap}, Data: want},
			metav1.CreateOptions{FieldManager: "kastle-root-ca-publisher"})
		if ignorable(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if len(cm.Data) == 1 && cm.Data[RootCAKey] == c.caPEM && len(cm.BinaryData) == 0 {
		return nil
	}
	out := cm.DeepCopy()
	out.Data, out.BinaryData = want, nil
	_, err = c.client.CoreV1().ConfigMaps(ns).Update(ctx, out, metav1.UpdateOptions{FieldManager: "kastle-root-ca-publisher"})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // the next event brings it back here
	}
	return err
}

// ignorable: it exists already, or the namespace went away (or is
// terminating) meanwhile.
func ignorable(err error) bool {
	return err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsForbidden(err) || apierrors.IsNotFound(err)
}

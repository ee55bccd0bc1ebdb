package tokencleaner

import (
	"context"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/controllers/queue"
)

// Cleaner is the token cleaner controller. Create it with New.
type Cleaner struct {
	client  kubernetes.Interface
	secrets corelisters.SecretLister
	synced  cache.InformerSynced
	q       *queue.Queue
	now     func() time.Time
	log     *slog.Logger
}

// New wires the cleaner to an informer on kube-system Secrets.
func New(client kubernetes.Interface, secrets coreinformers.SecretInformer, log *slog.Logger) (*Cleaner, error) {
	c := &Cleaner{client: client, secrets: secrets.Lister(), synced: secrets.Informer().HasSynced, now: time.Now, log: log}
	c.q = queue.New("tokencleaner", c.sync, log)
	return c, c.q.Follow(secrets.Informer())
}

// Run works until ctx ends.
func (c *Cleaner) Run(ctx context.Context) {
	c.q.Run(ctx, 1, c.synced)
}

func (c *Cleaner) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil || ns != bootstraptoken.Namespace {
		return nil
	}
	sec, err := c.secrets.Secrets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if sec.Type != bootstraptoken.SecretType || sec.DeletionTimestamp != nil {
		return nil
	}
	info, err := bootstraptoken.FromSecret(sec)
	if err != nil || info.Expiration.IsZero() {
		return nil // malformed or never expiring: not ours to judge
	}
	if left := info.Expiration.Sub(c.now()); left > 0 {
		c.q.AddAfter(key, left+time.Second)
		return nil
	}
	err = c.client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &sec.UID}})
	if err == nil {
		c.log.Info("deleted expired bootstrap token", "secret", name)
	}
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

package bootstrapsigner

import (
	"context"
	"log/slog"
	"maps"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/controllers/queue"
)

// queueKey is the only key: every change re-signs cluster-info as a whole.
const queueKey = bootstraptoken.ClusterInfoNamespace + "/" + bootstraptoken.ClusterInfoName

// Signer is the bootstrap signer controller. Create it with New.
type Signer struct {
	client  kubernetes.Interface
	cms     corelisters.ConfigMapLister
	secrets corelisters.SecretLister
	synced  []cache.InformerSynced
	q       *queue.Queue
	now     func() time.Time
	log     *slog.Logger
}

// New wires the signer to informers on kube-public ConfigMaps and
// kube-system Secrets.
func New(client kubernetes.Interface, configMaps coreinformers.ConfigMapInformer, secrets coreinformers.SecretInformer, log *slog.Logger) (*Signer, error) {
	s := &Signer{client: client, cms: configMaps.Lister(), secrets: secrets.Lister(), now: time.Now, log: log,
		synced: []cache.InformerSynced{configMaps.Informer().HasSynced, secrets.Informer().HasSynced}}
	s.q = queue.New("bootstrapsigner", s.sync, log)
	enqueue := func(interface{}) { s.q.Add(queueKey) }
	h := cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o interface{}) { enqueue(o) }, DeleteFunc: enqueue}
	if _, err := configMaps.Informer().AddEventHandler(h); err != nil {
		return nil, err
	}
	if _, err := secrets.Informer().AddEventHandler(h); err != nil {
		return nil, err
	}
	return s, nil
}

// Run works until ctx ends.
func (s *Signer) Run(ctx context.Context) {
	s.q.Run(ctx, 1, s.synced...)
}

func (s *Signer) sync(ctx context.Context, _ string) error {
	cm, err := s.cms.ConfigMaps(bootstraptoken.ClusterInfoNamespace).Get(bootstraptoken.ClusterInfoName)
	if apierrors.IsNotFound(err) {
		return nil // no cluster-info published (yet)
	}
	if err != nil {
		return err
	}
	content, ok := cm.Data[bootstraptoken.KubeconfigKey]
	if !ok {
		return nil
	}
	want, next, err := s.signatures(content)
	if err != nil {
		return err
	}
	if next > 0 {
		// Drop signatures of tokens as they expire.
		s.q.AddAfter(queueKey, next)
	}
	have := map[string]string{}
	for k, v := range cm.Data {
		if strings.HasPrefix(k, bootstraptoken.JWSKeyPrefix) {
			have[k] = v
		}
	}
	if maps.Equal(have, want) {
		return nil
	}
	out := cm.DeepCopy()
	for k := range have {
		delete(out.Data, k)
	}
	maps.Copy(out.Data, want)
	_, err = s.client.CoreV1().ConfigMaps(bootstraptoken.ClusterInfoNamespace).Update(ctx, out, metav1.UpdateOptions{FieldManager: "kastle-bootstrapsigner"})
	if err == nil {
		s.log.Info("signed cluster-info", "tokens", len(want))
	}
	return err
}

// signatures computes the jws-kubeconfig-<id> entries for every valid
// signing token, and when the first of them expires.
func (s *Signer) signatures(content string) (map[string]string, time.Duration, error) {
	list, err := s.secrets.Secrets(bootstraptoken.Namespace).List(labels.Everything())
	if err != nil {
		return nil, 0, err
	}
	now := s.now()
	out := map[string]string{}
	var next time.Duration
	for _, sec := range list {
		if sec.Type != bootstraptoken.SecretType || sec.DeletionTimestamp != nil {
			continue
		}
		info, err := bootstraptoken.FromSecret(sec)
		if err != nil {
			s.log.Warn("ignoring malformed bootstrap token secret", "secret", sec.Name, "err", err)
			continue
		}
		if !info.Has(bootstraptoken.UsageSigning) || info.Expired(now) {
			continue
		}
		sig, err := bootstraptoken.SignDetached(content, info.Token)
		if err != nil {
			return nil, 0, err
		}
		out[bootstraptoken.JWSKeyPrefix+info.Token.ID] = sig
		if !info.Expiration.IsZero() {
			if d := info.Expiration.Sub(now) + time.Second; next == 0 || d < next {
				next = d
			}
		}
	}
	return out, next, nil
}

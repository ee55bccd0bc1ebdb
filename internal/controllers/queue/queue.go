package queue

import (
	"context"
	"log/slog"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// maxRetries bounds the retries of one key before it is dropped (a later
// event for the object queues it again).
const maxRetries = 15

// SyncFunc brings the object with key ("namespace/name" or "name") to its
// desired state; an error retries the key with back-off.
type SyncFunc func(ctx context.Context, key string) error

// Queue is a rate-limited workqueue with its workers. Create it with New.
type Queue struct {
	name string
	q    workqueue.TypedRateLimitingInterface[string]
	sync SyncFunc
	log  *slog.Logger
	// followed completes once an informer Follow registered has handed
	// every object of its first list to the queue.
	followed []cache.DoneChecker
}

// New returns a queue named name (for logs and metrics) calling sync.
func New(name string, sync SyncFunc, log *slog.Logger) *Queue {
	return &Queue{
		name: name,
		q: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: name}),
		sync: sync,
		log:  log,
	}
}

// Add queues a key.
func (q *Queue) Add(key string) { q.q.Add(key) }

// AddAfter queues a key after d.
func (q *Queue) AddAfter(key string, d time.Duration) { q.q.AddAfter(key, d) }

// AddObject queues an informer object by its key; tombstones are
// unwrapped.
func (q *Queue) AddObject(obj interface{}) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		q.log.Warn("cannot key object", "queue", q.name, "err", err)
		return
	}
	q.q.Add(key)
}

// Follow queues the key of every object inf adds or updates; Run waits
// until inf's first list is queued. Call it before Run.
func (q *Queue) Follow(inf cache.SharedIndexInformer) error {
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    q.AddObject,
		UpdateFunc: func(_, obj interface{}) { q.AddObject(obj) },
	})
	if err == nil {
		q.followed = append(q.followed, reg.HasSyncedChecker())
	}
	return err
}

// Run waits for the informers to sync, then runs workers until ctx ends
// and shuts the queue down. The followed informers are waited for
// without polling, so the workers start as soon as the first list is
// queued (client-go's WaitForCacheSync looks every 100 ms); synced is
// then checked (at once when it names the same informers).
func (q *Queue) Run(ctx context.Context, workers int, synced ...cache.InformerSynced) {
	defer q.q.ShutDown()
	if !cache.WaitFor(ctx, "", q.followed...) || !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return
	}
	if workers < 1 {
		workers = 1
	}
	done := make(chan struct{})
	for i := 0; i < workers; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for q.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
	q.q.ShutDown()
	for i := 0; i < workers; i++ {
		<-done
	}
}

func (q *Queue) next(ctx context.Context) bool {
	key, quit := q.q.Get()
	if quit {
		return false
	}
	defer q.q.Done(key)
	err := q.sync(ctx, key)
	switch {
	case err == nil:
		q.q.Forget(key)
	case q.q.NumRequeues(key) < maxRetries && ctx.Err() == nil:
		q.log.Debug("retrying", "queue", q.name, "key", key, "err", err)
		q.q.AddRateLimited(key)
	default:
		q.log.Warn("giving up", "queue", q.name, "key", key, "err", err)
		q.q.Forget(key)
	}
	return true
}

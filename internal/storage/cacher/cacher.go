package cacher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// ProgressSource tells the cache how far etcd is, so it can serve
// consistent reads. The etcd3 store implements it.
type ProgressSource interface {
	// CurrentRevision returns etcd's current revision (a linearizable read).
	CurrentRevision(ctx context.Context) (int64, error)
	// RequestWatchProgress makes idle watches receive a bookmark at the
	// current revision.
	RequestWatchProgress(ctx context.Context) error
}

// Config describes a cache. Storage, Prefix and NewFunc are required.
type Config struct {
	// Storage is the underlying store; its watches must send bookmarks
	// (for the etcd3 store: created WithNewFunc).
	Storage storage.Interface
	// Prefix is the resource's key prefix, e.g. "/registry/configmaps".
	Prefix string
	// NewFunc returns an empty object of the resource, for bookmarks and
	// IgnoreNotFound.
	NewFunc func() runtime.Object
	// Versioner defaults to storage.APIObjectVersioner.
	Versioner storage.Versioner
	// KeyFunc returns an object's key; the default is
	// Prefix/namespace/name, or Prefix/name for cluster-scoped objects.
	KeyFunc func(obj runtime.Object) (string, error)
	// GetAttrs, when set, computes labels and fields once per stored
	// object instead of once per watcher and list; it must be the same
	// AttrFunc the callers' predicates use.
	GetAttrs storage.AttrFunc
	// Progress defaults to Storage when it implements ProgressSource;
	// without one, consistent reads are delegated to Storage.
	Progress ProgressSource
	// ConsistentReadsFromStorage delegates every consistent read to
	// Storage even when a Progress is at hand: for an etcd whose progress
	// notifications cannot be trusted (embedded.ProgressNotifySafe).
	ConsistentReadsFromStorage bool
	// EventBufferSize is how many recent events are kept for watches
	// resuming from an older resourceVersion (default 1000).
	EventBufferSize int
	// WatcherBufferSize is each watcher's queue length (default 100); a
	// watcher whose queue stays full is terminated.
	WatcherBufferSize int
	// BookmarkInterval is the period of bookmarks to watchers that allow
	// them (default 1 min, kube-apiserver's frequency: each bookmark wakes
	// every informer of the resource, so more often only costs idle CPU).
	BookmarkInterval time.Duration
	// FreshnessTimeout bounds how long a read waits for the cache to
	// reach the requested revision before asking Storage (default 3 s).
	FreshnessTimeout time.Duration
	// DispatchTimeout is how long an event waits, in total, for full
	// watcher queues before those watchers are terminated (default
	// 100 ms).
	DispatchTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Encodings, when set, is the budget of the serialized forms the cache
	// keeps per object version (storage.Encodings), shared by every cache
	// of a server; nil keeps none.
	Encodings *storage.EncodingBudget
}

// entry is one cached object; shared and never modified.
type entry struct {
	key      string
	obj      runtime.Object
	hasAttrs bool
	labels   labels.Set
	fields   fields.Set

	// enc holds the object's serialized forms, made on first use; gone
	// is set when the entry stops being the current version.
	enc  atomic.Pointer[storage.Encodings]
	gone atomic.Bool
}

// encodings returns the entry's Encodings, making them on first use; nil
// without a budget.
func (e *entry) encodings(budget *storage.EncodingBudget) *storage.Encodings {
	if budget == nil {
		return nil
	}
	if p := e.enc.Load(); p != nil {
		return p
	}
	e.enc.CompareAndSwap(nil, storage.NewEncodings(budget))
	p := e.enc.Load()
	if e.gone.Load() {
		// release ran before the store above: nothing may be kept.
		p.Release()
	}
	return p
}

// release gives back the cached forms of an entry that is no longer the
// current version of its key.
func (e *entry) release() {
	e.gone.Store(true)
	if p := e.enc.Load(); p != nil {
		p.Release()
	}
}

// event is one change in the cache, shared by every watcher it is sent to.
type event struct {
	typ  storage.EventType
	key  string
	rv   int64
	cur  *entry // for Deleted, the last state with the deletion's rv
	prev *entry // the state before, nil when unknown

	deletedOnce sync.Once
	deleted     runtime.Object // prev at rv, for watchers it leaves
}

// prevAsDeleted returns the previous state stamped with the event's
// revision, made once for all watchers whose selection the object left.
func (e *event) prevAsDeleted(v storage.Versioner) runtime.Object {
	e.deletedOnce.Do(func() {
		obj := e.prev.obj.DeepCopyObject()
		if err := v.UpdateObject(obj, e.rv); err == nil {
			e.deleted = obj
		} else {
			e.deleted = e.prev.obj
		}
	})
	return e.deleted
}

// Cacher is a storage.Interface serving reads and watches of one prefix
// from memory. Objects it returns are shared: callers must not modify
// them.
type Cacher struct {
	cfg    Config
	prefix string // cfg.Prefix ending in "/"
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the reflector has stopped

	progressCh chan struct{} // asks for one RequestWatchProgress

	revMu   sync.Mutex
	revNext *revBatch     // the readers waiting for the next revision read
	revKick chan struct{} // wakes revisionLoop

	mu          sync.RWMutex
	ready       bool
	readyCh     chan struct{}
	keys        []string // sorted keys of objs
	objs        map[string]*entry
	rv          int64         // the cache holds the state at rv
	lastEventRV int64         // rv of the last change (rv may be later)
	freshCh     chan struct{} // closed and replaced whenever rv grows
	ring        []*event      // recent events, oldest at ringStart
	ringStart   int
	ringLen     int
	resumeRV    int64 // every event after resumeRV is in ring
	watchers    map[*cacheWatcher]struct{}
	watcherList []*cacheWatcher // snapshot of watchers for dispatch
	stopped     bool

	// written holds, per key, the state a write through this cache made
	// and the cache has not seen yet: a fresher first guess for the next
	// update of the key than the cached copy (clients often update again
	// before the watch event arrives). Entries go once the cache reaches
	// their revision.
	wmu     sync.Mutex
	written map[string]writtenState
}

// writtenState is an object a write returned, at its revision.
type writtenState struct {
	obj runtime.Object
	rv  int64
}

var _ storage.Interface = (*Cacher)(nil)

// New starts a cache: it lists and watches cfg.Prefix in the background
// until Stop. Use WaitReady to wait for the first list.
func New(cfg Config) (*Cacher, error) {
	if cfg.Storage == nil || cfg.Prefix == "" || cfg.NewFunc == nil {
		return nil, errors.New("cacher: Storage, Prefix and NewFunc are required")
	}
	if cfg.Versioner == nil {
		cfg.Versioner = storage.APIObjectVersioner{}
	}
	prefix := storage.PrefixOf(cfg.Prefix)
	if cfg.KeyFunc == nil {
		cfg.KeyFunc = func(obj runtime.Object) (string, error) { return namespacedKey(prefix, obj) }
	}
	if cfg.Progress == nil {
		cfg.Progress, _ = cfg.Storage.(ProgressSource)
	}
	if cfg.ConsistentReadsFromStorage {
		cfg.Progress = nil
	}
	if cfg.EventBufferSize <= 0 {
		cfg.EventBufferSize = 1000
	}
	if cfg.WatcherBufferSize <= 0 {
		cfg.WatcherBufferSize = 100
	}
	if cfg.BookmarkInterval <= 0 {
		cfg.BookmarkInterval = time.Minute
	}
	if cfg.FreshnessTimeout <= 0 {
		cfg.FreshnessTimeout = 3 * time.Second
	}
	if cfg.DispatchTimeout <= 0 {
		cfg.DispatchTimeout = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cacher{
		cfg:        cfg,
		prefix:     prefix,
		log:        cfg.Logger.With("prefix", prefix),
		ctx:        ctx,
		cancel:     cancel,
		done:       make(chan struct{}),
		progressCh: make(chan struct{}, 1),
		revKick:    make(chan struct{}, 1),
		readyCh:    make(chan struct{}),
		objs:       map[string]*entry{},
		freshCh:    make(chan struct{}),
		watchers:   map[*cacheWatcher]struct{}{},
		written:    map[string]writtenState{},
	}
	go c.reflect()
	if cfg.Progress != nil {
		go c.requestProgressLoop()
		go c.revisionLoop()
	}
	return c, nil
}

// namespacedKey is the default key layout: prefix/namespace/name.
func namespacedKey(prefix string, obj runtime.Object) (string, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return "", err
	}
	if m.GetName() == "" {
		return "", errors.New("cacher: object has no name")
	}
	if ns := m.GetNamespace(); ns != "" {
		return prefix + ns + "/" + m.GetName(), nil
	}
	return prefix + m.GetName(), nil
}

// Ready reports whether the first list has been loaded.
func (c *Cacher) Ready() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ready
}

// WaitReady waits until the first list has been loaded, ctx ends, or the
// cache is stopped.
func (c *Cacher) WaitReady(ctx context.Context) error {
	select {
	case <-c.readyCh:
		return nil
	case <-c.done:
		return errors.New("cacher: stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop ends the cache and closes every watcher; later reads and watches
// go to the underlying store. It is idempotent.
func (c *Cacher) Stop() {
	c.cancel()
	<-c.done
}

// reflect keeps the cache in sync: list, then watch from the list's
// revision; on any watch failure (compaction, etcd restart) list again.
func (c *Cacher) reflect() {
	defer func() {
		c.mu.Lock()
		c.stopped = true
		ws := c.takeAllWatchersLocked()
		for _, e := range c.objs {
			e.release()
		}
		c.mu.Unlock()
		for _, w := range ws {
			w.terminate()
		}
		close(c.done)
	}()
	backoff := 100 * time.Millisecond
	for c.ctx.Err() == nil {
		synced, err := c.listAndWatch()
		if c.ctx.Err() != nil {
			return
		}
		if synced {
			backoff = 100 * time.Millisecond
		}
		c.log.Warn("watch cache resyncing", "err", err)
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listAndWatch loads the state and follows it until the watch fails. It
// reports whether it got as far as watching.
func (c *Cacher) listAndWatch() (bool, error) {
	list, err := c.cfg.Storage.GetList(c.ctx, c.prefix, storage.ListOptions{Recursive: true})
	if err != nil {
		return false, fmt.Errorf("list: %w", err)
	}
	if err := c.replace(list.Items, list.ResourceVersion); err != nil {
		return false, err
	}
	w, err := c.cfg.Storage.Watch(c.ctx, c.prefix, storage.WatchOptions{
		ResourceVersion: strconv.FormatInt(list.ResourceVersion, 10),
		Recursive:       true,
		AllowBookmarks:  true,
	})
	if err != nil {
		return false, fmt.Errorf("watch: %w", err)
	}
	defer w.Stop()
	tick := time.NewTicker(c.cfg.BookmarkInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return true, c.ctx.Err()
		case <-tick.C:
			c.dispatchBookmark()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return true, errors.New("watch closed")
			}
			switch ev.Type {
			case storage.ErrorEvent:
				return true, ev.Err
			case storage.Bookmark:
				if rv, err := c.cfg.Versioner.ObjectResourceVersion(ev.Object); err == nil {
					c.advance(rv)
				}
			default:
				if err := c.apply(ev); err != nil {
					return true, err
				}
			}
		}
	}
}

func (c *Cacher) newEntry(key string, obj runtime.Object) (*entry, error) {
	e := &entry{key: key, obj: obj}
	if c.cfg.GetAttrs != nil {
		ls, fs, err := c.cfg.GetAttrs(obj)
		if err != nil {
			return nil, err
		}
		e.hasAttrs, e.labels, e.fields = true, ls, fs
	}
	return e, nil
}

// replace installs a fresh list. Watchers of the previous state are
// terminated: events between it and the list are unknown, so they must
// resume (or relist) on their own.
func (c *Cacher) replace(items []runtime.Object, rv int64) error {
	objs := make(map[string]*entry, len(items))
	keys := make([]string, 0, len(items))
	for _, obj := range items {
		key, err := c.cfg.KeyFunc(obj)
		if err != nil {
			return err
		}
		e, err := c.newEntry(key, obj)
		if err != nil {
			return err
		}
		objs[key] = e
		keys = append(keys, key)
	}
	sort.Strings(keys)
	c.mu.Lock()
	var old []*cacheWatcher
	if c.ready {
		old = c.takeAllWatchersLocked()
	}
	for _, e := range c.objs {
		e.release()
	}
	c.objs, c.keys = objs, keys
	c.rv, c.lastEventRV, c.resumeRV = rv, rv, rv
	clear(c.ring)
	c.ringStart, c.ringLen = 0, 0
	c.notifyFreshLocked()
	if !c.ready {
		c.ready = true
		close(c.readyCh)
	}
	c.mu.Unlock()
	c.wmu.Lock()
	clear(c.written)
	c.wmu.Unlock()
	for _, w := range old {
		w.terminate()
	}
	return nil
}

func (c *Cacher) notifyFreshLocked() {
	close(c.freshCh)
	c.freshCh = make(chan struct{})
}

// advance records that nothing changed up to rv (an etcd progress
// notification).
func (c *Cacher) advance(rv int64) {
	c.mu.Lock()
	if rv > c.rv {
		c.rv = rv
		c.notifyFreshLocked()
	}
	c.mu.Unlock()
}

// apply records one change from the underlying watch and sends it to the
// watchers.
func (c *Cacher) apply(ev storage.Event) error {
	rv, err := c.cfg.Versioner.ObjectResourceVersion(ev.Object)
	if err != nil {
		return err
	}
	key, err := c.cfg.KeyFunc(ev.Object)
	if err != nil {
		return err
	}
	cur, err := c.newEntry(key, ev.Object)
	if err != nil {
		return err
	}
	c.mu.Lock()
	prev := c.objs[key]
	ce := &event{key: key, rv: rv, cur: cur, prev: prev}
	i := sort.SearchStrings(c.keys, key)
	if ev.Type == storage.Deleted {
		ce.typ = storage.Deleted
		if prev != nil {
			delete(c.objs, key)
			c.keys = append(c.keys[:i], c.keys[i+1:]...)
		}
	} else {
		ce.typ = storage.Modified
		if prev == nil {
			ce.typ = storage.Added
			c.keys = append(c.keys, "")
			copy(c.keys[i+1:], c.keys[i:])
			c.keys[i] = key
		}
		c.objs[key] = cur
	}
	if prev != nil {
		prev.release()
	}
	c.pushLocked(ce)
	if rv > c.rv {
		c.rv = rv
	}
	c.lastEventRV = rv
	c.notifyFreshLocked()
	ws := c.watcherList
	c.mu.Unlock()
	c.forgetWritten(key, rv)
	c.dispatch(ce, ws)
	return nil
}

// pushLocked appends ev to the ring, dropping the oldest when full. The
// ring grows by doubling up to EventBufferSize, so the caches of the many
// resources that rarely change do not hold a full buffer each.
func (c *Cacher) pushLocked(ev *event) {
	n := len(c.ring)
	if c.ringLen == n && n < c.cfg.EventBufferSize {
		grown := make([]*event, min(max(2*n, 16), c.cfg.EventBufferSize))
		for i := range c.ringLen {
			grown[i] = c.ring[(c.ringStart+i)%n]
		}
		c.ring, c.ringStart, n = grown, 0, len(grown)
	}
	if c.ringLen == n {
		c.resumeRV = c.ring[c.ringStart].rv
		c.ring[c.ringStart] = ev
		c.ringStart = (c.ringStart + 1) % n
		return
	}
	c.ring[(c.ringStart+c.ringLen)%n] = ev
	c.ringLen++
}

// eventsAfterLocked returns the buffered events after rv for key.
func (c *Cacher) eventsAfterLocked(rv int64, match func(string) bool) []*event {
	n := len(c.ring)
	// Events are in rv order: binary search the first one after rv.
	first := sort.Search(c.ringLen, func(i int) bool { return c.ring[(c.ringStart+i)%n].rv > rv })
	var out []*event
	for i := first; i < c.ringLen; i++ {
		if ev := c.ring[(c.ringStart+i)%n]; match(ev.key) {
			out = append(out, ev)
		}
	}
	return out
}

// dispatch queues ev to every interested watcher without letting a slow
// one hold up the others for more than DispatchTimeout in total: those
// still full afterwards are terminated (their clients will re-watch).
func (c *Cacher) dispatch(ev *event, ws []*cacheWatcher) {
	var blocked []*cacheWatcher
	for _, w := range ws {
		if !w.interested(ev.key) {
			continue
		}
		select {
		case w.input <- ev:
		default:
			blocked = append(blocked, w)
		}
	}
	if len(blocked) == 0 {
		return
	}
	timer := time.NewTimer(c.cfg.DispatchTimeout)
	defer timer.Stop()
	expired := false
	for _, w := range blocked {
		if !expired {
			select {
			case w.input <- ev:
				continue
			case <-w.done:
				continue
			case <-timer.C:
				expired = true
			}
		}
		select {
		case w.input <- ev:
		default:
			c.log.Info("terminating a watcher that does not keep up", "key", w.key)
			c.removeWatcher(w)
			w.terminate()
		}
	}
}

// dispatchBookmark sends a bookmark at the current revision to watchers
// that allow bookmarks and have room for it; a bookmark never terminates
// a watcher.
func (c *Cacher) dispatchBookmark() {
	c.mu.RLock()
	rv, ws := c.rv, c.watcherList
	c.mu.RUnlock()
	obj := c.bookmarkObject(rv, false)
	if obj == nil {
		return
	}
	ev := &event{typ: storage.Bookmark, rv: rv, cur: &entry{obj: obj}}
	for _, w := range ws {
		if !w.allowBookmarks {
			continue
		}
		select {
		case w.input <- ev:
		default:
		}
	}
}

// bookmarkObject returns an empty object at rv, with the initial-events
// end annotation when initialEnd; nil if the object has no metadata.
func (c *Cacher) bookmarkObject(rv int64, initialEnd bool) runtime.Object {
	obj := c.cfg.NewFunc()
	if err := c.cfg.Versioner.UpdateObject(obj, rv); err != nil {
		return nil
	}
	if initialEnd {
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil
		}
		m.SetAnnotations(map[string]string{storage.InitialEventsEndAnnotation: "true"})
	}
	return obj
}

// requestProgressLoop turns signals on progressCh into etcd progress
// requests, at most one in flight, so many waiting readers cost one.
func (c *Cacher) requestProgressLoop() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.progressCh:
		}
		if err := c.cfg.Progress.RequestWatchProgress(c.ctx); err != nil && c.ctx.Err() == nil {
			c.log.Debug("requesting watch progress", "err", err)
		}
	}
}

// errNotFresh means the cache could not reach the wanted revision in
// time; the read is then served by the underlying store.
var errNotFresh = errors.New("cacher: not fresh")

// waitFresh waits until the cache is ready and holds revision minRV.
func (c *Cacher) waitFresh(ctx context.Context, minRV int64) error {
	c.mu.RLock()
	ok := c.ready && !c.stopped && c.rv >= minRV
	c.mu.RUnlock()
	if ok {
		return nil // the common case: no timer
	}
	timer := time.NewTimer(c.cfg.FreshnessTimeout)
	defer timer.Stop()
	for {
		c.mu.RLock()
		ok := c.ready && !c.stopped && c.rv >= minRV
		stopped, fresh := c.stopped, c.freshCh
		c.mu.RUnlock()
		if ok {
			return nil
		}
		if stopped {
			return errNotFresh
		}
		if c.cfg.Progress != nil {
			select {
			case c.progressCh <- struct{}{}:
			default:
			}
		}
		select {
		case <-fresh:
		case <-time.After(100 * time.Millisecond):
			// Ask for progress again: a write may have moved etcd on
			// after the last notification.
		case <-timer.C:
			return errNotFresh
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitConsistent waits until the cache holds etcd's current revision.
func (c *Cacher) waitConsistent(ctx context.Context) error {
	if c.cfg.Progress == nil {
		return errNotFresh
	}
	rev, err := c.currentRevision(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errNotFresh
	}
	return c.waitFresh(ctx, rev)
}

// revBatch is one read of etcd's revision shared by the readers that
// asked for it before it was sent.
type revBatch struct {
	done chan struct{}
	rev  int64
	err  error
}

// currentRevision returns etcd's revision read after the call began. All
// readers that arrive while no read is being prepared share the next one,
// so concurrent consistent reads cost one etcd round trip, not one each;
// a read already sent is never shared with a later reader, which keeps the
// result linearizable.
func (c *Cacher) currentRevision(ctx context.Context) (int64, error) {
	c.revMu.Lock()
	b := c.revNext
	if b == nil {
		b = &revBatch{done: make(chan struct{})}
		c.revNext = b
		select {
		case c.revKick <- struct{}{}:
		default:
		}
	}
	c.revMu.Unlock()
	select {
	case <-b.done:
		return b.rev, b.err
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-c.ctx.Done():
		return 0, errNotFresh // stopped: the store answers
	}
}

// revisionLoop sends the batched revision reads, one at a time, from one
// long-lived goroutine (whose stack has grown once, unlike every request's).
func (c *Cacher) revisionLoop() {
	for {
		select {
		case <-c.ctx.Done():
			c.revMu.Lock()
			b := c.revNext
			c.revNext = nil
			c.revMu.Unlock()
			if b != nil {
				b.err = c.ctx.Err()
				close(b.done)
			}
			return
		case <-c.revKick:
		}
		c.revMu.Lock()
		b := c.revNext
		c.revNext = nil
		c.revMu.Unlock()
		if b == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.FreshnessTimeout)
		b.rev, b.err = c.cfg.Progress.CurrentRevision(ctx)
		cancel()
		close(b.done)
	}
}

// waitFor applies the resourceVersion rules of a read: "" consistent,
// "0" any state, "N" at least N. A non-nil error other than a context
// error means: delegate to the underlying store.
func (c *Cacher) waitFor(ctx context.Context, rv string) error {
	switch rv {
	case "":
		return c.waitConsistent(ctx)
	case "0":
		return c.waitFresh(ctx, 0)
	}
	n, err := storage.ParseResourceVersion(rv)
	if err != nil {
		return err
	}
	return c.waitFresh(ctx, n)
}

// delegate reports whether err from waitFor means "ask Storage".
func delegate(err error) bool { return errors.Is(err, errNotFresh) }

// Create passes through to the underlying store, and keeps the created
// state as the first guess of an update that comes before its event.
func (c *Cacher) Create(ctx context.Context, key string, obj runtime.Object) (runtime.Object, error) {
	out, err := c.cfg.Storage.Create(ctx, key, obj)
	if err == nil {
		c.recordWritten(key, out)
	}
	return out, err
}

// GuaranteedUpdate writes through the underlying store. When that store
// is a storage.GuessUpdater and the cache holds key, the newer of the
// cached object and the last state written through the cache is its
// first guess of the current state: a current guess saves the read of
// the key, a stale one costs a failed transaction that returns the
// current state.
func (c *Cacher) GuaranteedUpdate(ctx context.Context, key string, preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc) (runtime.Object, error) {
	var (
		out runtime.Object
		err error
	)
	g, ok := c.cfg.Storage.(storage.GuessUpdater)
	if guess := c.guess(key); ok && guess != nil {
		out, err = g.GuaranteedUpdateFrom(ctx, key, guess, preconditions, tryUpdate)
	} else {
		out, err = c.cfg.Storage.GuaranteedUpdate(ctx, key, preconditions, tryUpdate)
	}
	if err == nil {
		c.recordWritten(key, out)
	}
	return out, err
}

// guess returns the freshest state of key the cache knows, nil when it
// knows none or is not running.
func (c *Cacher) guess(key string) runtime.Object {
	var obj runtime.Object
	c.mu.RLock()
	live := c.ready && !c.stopped
	if e := c.objs[key]; live && e != nil {
		obj = e.obj
	}
	c.mu.RUnlock()
	if !live {
		return nil
	}
	c.wmu.Lock()
	w, ok := c.written[key]
	c.wmu.Unlock()
	if !ok {
		return obj
	}
	if obj != nil {
		if rv, err := c.cfg.Versioner.ObjectResourceVersion(obj); err != nil || rv >= w.rv {
			return obj
		}
	}
	return w.obj
}

// recordWritten keeps a copy of obj, which a write of key returned, until
// the cache sees its revision.
func (c *Cacher) recordWritten(key string, obj runtime.Object) {
	rv, err := c.cfg.Versioner.ObjectResourceVersion(obj)
	if err != nil || rv == 0 || !strings.HasPrefix(key, c.prefix) {
		return
	}
	c.mu.RLock()
	seen := !c.ready || c.stopped || c.rv >= rv
	c.mu.RUnlock()
	if seen {
		return
	}
	cp := obj.DeepCopyObject() // the caller owns obj
	c.wmu.Lock()
	if w, ok := c.written[key]; !ok || w.rv < rv {
		c.written[key] = writtenState{obj: cp, rv: rv}
	}
	c.wmu.Unlock()
	// The event may have been applied since the check above, before the
	// entry existed for apply to drop.
	c.mu.RLock()
	seen = c.rv >= rv
	c.mu.RUnlock()
	if seen {
		c.forgetWritten(key, rv)
	}
}

// forgetWritten drops key's written state once the cache holds revision
// rv of it (or a later one).
func (c *Cacher) forgetWritten(key string, rv int64) {
	c.wmu.Lock()
	if w, ok := c.written[key]; ok && w.rv <= rv {
		delete(c.written, key)
	}
	c.wmu.Unlock()
}

// Delete passes through to the underlying store.
func (c *Cacher) Delete(ctx context.Context, key string, preconditions *storage.Preconditions, validate storage.ValidateDeleteFunc) (runtime.Object, error) {
	return c.cfg.Storage.Delete(ctx, key, preconditions, validate)
}

// Count passes through to the underlying store (a count-only etcd read).
func (c *Cacher) Count(ctx context.Context, key string) (int64, error) {
	return c.cfg.Storage.Count(ctx, key)
}

// Get serves key from memory once the cache is fresh enough for
// opts.ResourceVersion, else from the underlying store.
func (c *Cacher) Get(ctx context.Context, key string, opts storage.GetOptions) (runtime.Object, error) {
	if !strings.HasPrefix(key, c.prefix) {
		return c.cfg.Storage.Get(ctx, key, opts)
	}
	if err := c.waitFor(ctx, opts.ResourceVersion); err != nil {
		if delegate(err) {
			return c.cfg.Storage.Get(ctx, key, opts)
		}
		return nil, err
	}
	c.mu.RLock()
	e := c.objs[key]
	c.mu.RUnlock()
	if e == nil {
		if opts.IgnoreNotFound {
			return c.cfg.NewFunc(), nil
		}
		return nil, &storage.Error{Code: storage.ErrCodeKeyNotFound, Key: key}
	}
	return e.obj, nil
}

var _ storage.EncodingCache = (*Cacher)(nil)

// Encodings implements storage.EncodingCache: obj must be the object the
// cache holds for key now.
func (c *Cacher) Encodings(key string, obj runtime.Object) *storage.Encodings {
	if c.cfg.Encodings == nil {
		return nil
	}
	c.mu.RLock()
	e := c.objs[key]
	c.mu.RUnlock()
	if e == nil || e.obj != obj {
		return nil
	}
	return e.encodings(c.cfg.Encodings)
}

// GetList serves a page from memory when the cache can answer exactly:
// fresh enough for the resourceVersion, or for a continue token, still at
// the token's state. Exact reads of other revisions go to the underlying
// store, whose continue tokens are the same format.
func (c *Cacher) GetList(ctx context.Context, key string, opts storage.ListOptions) (*storage.ListResult, error) {
	prefix := key
	if opts.Recursive {
		prefix = storage.PrefixOf(key)
	}
	if !strings.HasPrefix(prefix, c.prefix) {
		return c.cfg.Storage.GetList(ctx, key, opts)
	}
	start := prefix
	var atRV int64 // the revision a continued list must be served at
	switch {
	case opts.Continue != "":
		fromKey, rv, err := storage.DecodeContinue(opts.Continue, prefix)
		if err != nil {
			return nil, err
		}
		start, atRV = fromKey, rv
	case opts.ResourceVersionMatch == storage.MatchExact,
		opts.ResourceVersionMatch == storage.MatchDefault && opts.Limit > 0 && opts.ResourceVersion != "" && opts.ResourceVersion != "0":
		return c.cfg.Storage.GetList(ctx, key, opts)
	default:
		if err := c.waitFor(ctx, opts.ResourceVersion); err != nil {
			if delegate(err) {
				return c.cfg.Storage.GetList(ctx, key, opts)
			}
			return nil, err
		}
	}
	if res, ok := c.listFromCache(key, prefix, start, atRV, opts); ok {
		return res, nil
	}
	// The state at the token's revision is no longer (or not yet) the
	// cached one.
	return c.cfg.Storage.GetList(ctx, key, opts)
}

// listFromCache serves a page from memory; false when a continued list
// (atRV != 0) cannot be answered at its revision.
func (c *Cacher) listFromCache(key, prefix, start string, atRV int64, opts storage.ListOptions) (*storage.ListResult, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if atRV != 0 && (c.stopped || atRV < c.lastEventRV || atRV > c.rv) {
		return nil, false
	}
	rv := c.rv
	if atRV != 0 {
		rv = atRV
	}
	res := &storage.ListResult{ResourceVersion: rv, Items: []runtime.Object{}}
	budget := c.cfg.Encodings
	if !opts.Recursive {
		if e := c.objs[key]; e != nil && matches(opts.Predicate, e) {
			res.Items = append(res.Items, e.obj)
			if budget != nil {
				res.Encodings = append(res.Encodings, e.encodings(budget))
			}
		}
		return res, true
	}
	keys := c.keysUnderLocked(prefix, start)
	n := len(keys)
	if opts.Limit > 0 && opts.Limit < int64(n) {
		n = int(opts.Limit)
	}
	res.Items = make([]runtime.Object, 0, n)
	if budget != nil {
		res.Encodings = make([]*storage.Encodings, 0, n)
	}
	var lastKey string
	i := 0
	for ; i < len(keys); i++ {
		if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
			break
		}
		e := c.objs[keys[i]]
		if matches(opts.Predicate, e) {
			res.Items = append(res.Items, e.obj)
			if budget != nil {
				res.Encodings = append(res.Encodings, e.encodings(budget))
			}
			lastKey = e.key
		}
	}
	if i < len(keys) {
		res.Continue = storage.EncodeContinue(strings.TrimPrefix(lastKey, prefix), rv)
		if opts.Predicate.Empty() {
			remaining := int64(len(keys) - i)
			res.RemainingItemCount = &remaining
		}
	}
	return res, true
}

// keysUnderLocked returns the sorted keys under prefix from start on
// (a sub-slice of c.keys: read only, valid while the lock is held).
func (c *Cacher) keysUnderLocked(prefix, start string) []string {
	i := sort.SearchStrings(c.keys, start)
	n := sort.Search(len(c.keys)-i, func(j int) bool { return !strings.HasPrefix(c.keys[i+j], prefix) })
	return c.keys[i : i+n]
}

// matches applies p to a cached entry, using its precomputed attributes.
func matches(p storage.Predicate, e *entry) bool {
	if p.Empty() {
		return true
	}
	if e.hasAttrs {
		return (p.Label == nil || p.Label.Matches(e.labels)) && (p.Field == nil || p.Field.Matches(e.fields))
	}
	ok, err := p.Matches(e.obj)
	return err == nil && ok
}

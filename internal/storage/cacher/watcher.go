package cacher

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// resultBuffer lets a watcher's goroutine run a little ahead of its
// client, saving a goroutine switch per event.
const resultBuffer = 16

// cacheWatcher is one client watch on the cache. The dispatcher queues
// shared events on input; the watcher's goroutine filters and converts
// them and hands them to the client on result.
type cacheWatcher struct {
	c              *Cacher
	key            string // a prefix ending in "/" when recursive
	recursive      bool
	pred           storage.Predicate
	allowBookmarks bool

	input  chan *event
	result chan storage.Event
	done   chan struct{}
	once   sync.Once
}

var _ storage.Watcher = (*cacheWatcher)(nil)

func (w *cacheWatcher) ResultChan() <-chan storage.Event { return w.result }

// Stop ends the watch; the result channel is closed soon after.
func (w *cacheWatcher) Stop() {
	w.c.removeWatcher(w)
	w.terminate()
}

func (w *cacheWatcher) terminate() { w.once.Do(func() { close(w.done) }) }

func (w *cacheWatcher) interested(key string) bool {
	if w.recursive {
		return strings.HasPrefix(key, w.key)
	}
	return key == w.key
}

// start describes what a watcher sends before live events.
type start struct {
	err      error            // sent alone, then the watch ends
	initial  []runtime.Object // ADDED events of the initial state
	replay   []*event         // buffered events after the requested rv
	endOfRV  int64            // rv of the initial-events-end bookmark
	endEvent bool             // send that bookmark
}

func (w *cacheWatcher) run(ctx context.Context, s start) {
	defer close(w.result)
	defer w.c.removeWatcher(w)
	send := func(ev storage.Event) bool {
		select {
		case w.result <- ev:
			return true
		case <-w.done:
			return false
		case <-ctx.Done():
			return false
		}
	}
	if s.err != nil {
		send(storage.Event{Type: storage.ErrorEvent, Err: s.err})
		return
	}
	for _, obj := range s.initial {
		if !send(storage.Event{Type: storage.Added, Object: obj}) {
			return
		}
	}
	if s.endEvent {
		if obj := w.c.bookmarkObject(s.endOfRV, true); obj != nil && !send(storage.Event{Type: storage.Bookmark, Object: obj}) {
			return
		}
	}
	for _, ev := range s.replay {
		if out, ok := w.convert(ev); ok && !send(out) {
			return
		}
	}
	for {
		select {
		case <-w.done:
			return
		case <-ctx.Done():
			return
		case ev := <-w.input:
			if out, ok := w.convert(ev); ok && !send(out) {
				return
			}
		}
	}
}

// convert returns what this watcher's client sees of ev: objects that
// enter the selection are ADDED, those that leave it DELETED.
func (w *cacheWatcher) convert(ev *event) (storage.Event, bool) {
	switch ev.typ {
	case storage.Bookmark:
		return storage.Event{Type: storage.Bookmark, Object: ev.cur.obj}, w.allowBookmarks
	case storage.Added:
		return storage.Event{Type: storage.Added, Object: ev.cur.obj}, matches(w.pred, ev.cur)
	case storage.Deleted:
		return storage.Event{Type: storage.Deleted, Object: ev.cur.obj}, matches(w.pred, ev.cur)
	}
	cur := matches(w.pred, ev.cur)
	if w.pred.Empty() || ev.prev == nil {
		return storage.Event{Type: storage.Modified, Object: ev.cur.obj}, cur
	}
	prev := matches(w.pred, ev.prev)
	switch {
	case cur && prev:
		return storage.Event{Type: storage.Modified, Object: ev.cur.obj}, true
	case cur:
		return storage.Event{Type: storage.Added, Object: ev.cur.obj}, true
	case prev:
		return storage.Event{Type: storage.Deleted, Object: ev.prevAsDeleted(w.c.cfg.Versioner)}, true
	}
	return storage.Event{}, false
}

// removeWatcher unregisters w; idempotent.
func (c *Cacher) removeWatcher(w *cacheWatcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.watchers[w]; !ok {
		return
	}
	delete(c.watchers, w)
	c.rebuildWatcherListLocked()
}

func (c *Cacher) rebuildWatcherListLocked() {
	list := make([]*cacheWatcher, 0, len(c.watchers))
	for w := range c.watchers {
		list = append(list, w)
	}
	c.watcherList = list
}

// takeAllWatchersLocked unregisters every watcher and returns them, to be
// terminated after unlocking.
func (c *Cacher) takeAllWatchersLocked() []*cacheWatcher {
	ws := c.watcherList
	clear(c.watchers)
	c.watcherList = nil
	return ws
}

// Watch serves a watch from the cache: the initial state (for "" and "0"
// or SendInitialEvents) or the buffered events after resourceVersion N,
// then live events. N older than the buffer is an ERROR event with
// ErrCodeResourceVersionTooOld (410): the client must relist.
func (c *Cacher) Watch(ctx context.Context, key string, opts storage.WatchOptions) (storage.Watcher, error) {
	rv, err := storage.ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	wkey := key
	if opts.Recursive {
		wkey = storage.PrefixOf(key)
	}
	if !strings.HasPrefix(wkey, c.prefix) {
		return c.cfg.Storage.Watch(ctx, key, opts)
	}
	// "" is a consistent start when it carries the initial state; "N"
	// needs the cache to have seen N.
	wait := opts.ResourceVersion
	if wait == "" && !opts.WantsInitialEvents() {
		wait = "0"
	}
	if err := c.waitFor(ctx, wait); err != nil {
		if delegate(err) {
			return c.cfg.Storage.Watch(ctx, key, opts)
		}
		return nil, err
	}
	w := &cacheWatcher{
		c:              c,
		key:            wkey,
		recursive:      opts.Recursive,
		pred:           opts.Predicate,
		allowBookmarks: opts.AllowBookmarks,
		input:          make(chan *event, c.cfg.WatcherBufferSize),
		result:         make(chan storage.Event, resultBuffer),
		done:           make(chan struct{}),
	}
	var s start
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return c.cfg.Storage.Watch(ctx, key, opts)
	}
	switch {
	case opts.WantsInitialEvents():
		s.initial = c.snapshotLocked(w)
		s.endOfRV = c.rv
		s.endEvent = opts.SendInitialEvents != nil && *opts.SendInitialEvents
	case rv > 0 && rv < c.resumeRV:
		s.err = &storage.Error{Code: storage.ErrCodeResourceVersionTooOld, Key: key, ResourceVersion: rv,
			Msg: fmt.Sprintf("too old resource version: %d (%d)", rv, c.resumeRV)}
	case rv > 0:
		s.replay = c.eventsAfterLocked(rv, w.interested)
	}
	if s.err == nil {
		c.watchers[w] = struct{}{}
		c.rebuildWatcherListLocked()
	}
	c.mu.Unlock()
	go w.run(ctx, s)
	return w, nil
}

// snapshotLocked returns the cached objects w selects, in key order.
func (c *Cacher) snapshotLocked(w *cacheWatcher) []runtime.Object {
	var out []runtime.Object
	if !w.recursive {
		if e := c.objs[w.key]; e != nil && matches(w.pred, e) {
			out = append(out, e.obj)
		}
		return out
	}
	for _, k := range c.keysUnderLocked(w.key, w.key) {
		if e := c.objs[k]; matches(w.pred, e) {
			out = append(out, e.obj)
		}
	}
	return out
}

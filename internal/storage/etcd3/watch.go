package etcd3

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// watchBuffer is how many events a watch holds for a slow reader before
// it stops reading from etcd.
const watchBuffer = 100

// watcher is one running etcd watch.
type watcher struct {
	cancel context.CancelFunc
	result chan storage.Event
}

func (w *watcher) ResultChan() <-chan storage.Event { return w.result }
func (w *watcher) Stop()                            { w.cancel() }

// Watch implements storage.Interface with one etcd watch per call. With
// initial events, the state is listed at a revision R and the etcd watch
// starts at R+1, so nothing is missed or sent twice.
func (s *Store) Watch(ctx context.Context, key string, opts storage.WatchOptions) (storage.Watcher, error) {
	rv, err := storage.ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	if opts.Recursive {
		key = storage.PrefixOf(key)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{cancel: cancel, result: make(chan storage.Event, watchBuffer)}
	go s.runWatch(ctx, w, key, rv, opts)
	return w, nil
}

func (s *Store) runWatch(ctx context.Context, w *watcher, key string, rv int64, opts storage.WatchOptions) {
	defer close(w.result)
	defer w.cancel()
	send := func(ev storage.Event) bool {
		select {
		case w.result <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	fail := func(err error) { send(storage.Event{Type: storage.ErrorEvent, Err: err}) }

	var rangeOpts, watchOpts []clientv3.OpOption
	if opts.Recursive {
		rangeOpts = append(rangeOpts, clientv3.WithRange(clientv3.GetPrefixRangeEnd(key)))
		watchOpts = append(watchOpts, clientv3.WithPrefix())
	}
	startRev := rv
	if opts.WantsInitialEvents() {
		resp, err := s.get(ctx, key, rv, rangeOpts...)
		if err != nil {
			fail(err)
			return
		}
		for _, kv := range resp.Kvs {
			obj, err := s.decodeKV(ctx, kv)
			if err != nil {
				fail(err)
				return
			}
			ok, err := opts.Predicate.Matches(obj)
			if err != nil {
				fail(err)
				return
			}
			if ok && !send(storage.Event{Type: storage.Added, Object: obj}) {
				return
			}
		}
		startRev = resp.Header.Revision
		if opts.SendInitialEvents != nil && *opts.SendInitialEvents {
			if b := s.bookmark(startRev, true); b != nil && !send(*b) {
				return
			}
		}
	}
	watchOpts = append(watchOpts, clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	if startRev > 0 {
		watchOpts = append(watchOpts, clientv3.WithRev(startRev+1))
	}
	for wr := range s.client.Watch(ctx, key, watchOpts...) {
		if wr.CompactRevision != 0 {
			fail(&storage.Error{Code: storage.ErrCodeResourceVersionTooOld, Key: key, ResourceVersion: startRev,
				Msg: fmt.Sprintf("too old resource version: %d (%d)", startRev, wr.CompactRevision)})
			return
		}
		if err := wr.Err(); err != nil {
			fail(mapErr(err, key, startRev))
			return
		}
		if wr.IsProgressNotify() {
			if opts.AllowBookmarks {
				if b := s.bookmark(wr.Header.Revision, false); b != nil && !send(*b) {
					return
				}
			}
			continue
		}
		for _, e := range wr.Events {
			ev, ok, err := s.transform(e, opts.Predicate)
			if err != nil {
				fail(err)
				return
			}
			if ok && !send(ev) {
				return
			}
		}
	}
	// The etcd channel closes when ctx ends (Stop) or the client closes.
}

// bookmark returns a BOOKMARK at rev, or nil without a NewFunc.
func (s *Store) bookmark(rev int64, initialEnd bool) *storage.Event {
	if s.newFunc == nil {
		return nil
	}
	obj := s.newFunc()
	if err := s.versioner.UpdateObject(obj, rev); err != nil {
		return nil
	}
	if initialEnd {
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil
		}
		m.SetAnnotations(map[string]string{storage.InitialEventsEndAnnotation: "true"})
	}
	return &storage.Event{Type: storage.Bookmark, Object: obj}
}

// transform maps an etcd event to the watch event a client with predicate
// p sees: objects entering the selection are ADDED, leaving it DELETED.
func (s *Store) transform(e *clientv3.Event, p storage.Predicate) (storage.Event, bool, error) {
	rev := e.Kv.ModRevision
	matches := func(obj runtime.Object) (bool, error) { return p.Matches(obj) }
	if e.Type == clientv3.EventTypeDelete {
		if e.PrevKv == nil {
			return storage.Event{}, false, fmt.Errorf("etcd delete event for %q at revision %d has no previous value", e.Kv.Key, rev)
		}
		prev, err := s.decodeAt(context.Background(), e.PrevKv.Key, e.PrevKv.Value, rev)
		if err != nil {
			return storage.Event{}, false, err
		}
		ok, err := matches(prev)
		return storage.Event{Type: storage.Deleted, Object: prev}, ok, err
	}
	cur, err := s.decodeAt(context.Background(), e.Kv.Key, e.Kv.Value, rev)
	if err != nil {
		return storage.Event{}, false, err
	}
	curOK, err := matches(cur)
	if err != nil {
		return storage.Event{}, false, err
	}
	if e.IsCreate() {
		return storage.Event{Type: storage.Added, Object: cur}, curOK, nil
	}
	if p.Empty() || e.PrevKv == nil {
		return storage.Event{Type: storage.Modified, Object: cur}, curOK, nil
	}
	prev, err := s.decodeAt(context.Background(), e.PrevKv.Key, e.PrevKv.Value, rev)
	if err != nil {
		return storage.Event{}, false, err
	}
	prevOK, err := matches(prev)
	if err != nil {
		return storage.Event{}, false, err
	}
	switch {
	case curOK && prevOK:
		return storage.Event{Type: storage.Modified, Object: cur}, true, nil
	case curOK:
		return storage.Event{Type: storage.Added, Object: cur}, true, nil
	case prevOK:
		return storage.Event{Type: storage.Deleted, Object: prev}, true, nil
	}
	return storage.Event{}, false, nil
}

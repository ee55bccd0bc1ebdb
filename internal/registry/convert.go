package registry

import (
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// A typed resource served at several versions keeps one storage version
// (the first catalogue row of its etcd prefix). The store of every other
// version converts on the way in (toStorage) and out (fromStorage, also
// for watch events), so clients only ever see the version they asked for.

// conversionError is the API error of a failed conversion of a stored
// object: a 500 naming the failure, as kube-apiserver answers when a
// conversion webhook fails. An object is never served in a version the
// client did not ask for.
func conversionError(err error) error {
	if _, ok := err.(apierrors.APIStatus); ok {
		return err
	}
	return apierrors.NewInternalError(err)
}

// toStorage converts an object of the served version to the storage
// version; the identity when the resource is kept in its own version.
func (s *Store) toStorage(obj runtime.Object) (runtime.Object, error) {
	if s.Resource.ToStorage == nil {
		return obj, nil
	}
	out, err := s.Resource.ToStorage(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return out, nil
}

// convertingWatcher converts the objects of another watcher's events.
type convertingWatcher struct {
	in   storage.Watcher
	out  chan storage.Event
	stop chan struct{}
	once sync.Once
}

var _ storage.Watcher = (*convertingWatcher)(nil)

// newConvertingWatcher converts each event's object with conv. When a
// conversion fails the watch ends with an ERROR event carrying that
// error: the client re-lists rather than seeing an unconverted object.
func newConvertingWatcher(in storage.Watcher, conv func(storage.Event) (runtime.Object, error)) *convertingWatcher {
	w := &convertingWatcher{in: in, out: make(chan storage.Event), stop: make(chan struct{})}
	go func() {
		defer close(w.out)
		for ev := range in.ResultChan() {
			failed := false
			if ev.Object != nil && ev.Type != storage.ErrorEvent {
				obj, err := conv(ev)
				if err != nil {
					ev, failed = storage.Event{Type: storage.ErrorEvent, Err: err}, true
				} else {
					ev.Object = obj
				}
			}
			select {
			case w.out <- ev:
			case <-w.stop:
				return
			}
			if failed {
				in.Stop()
				return
			}
		}
	}()
	return w
}

// outEvent is the object of ev in the served version. A bookmark is made
// afresh in that version (only its resourceVersion and annotations
// matter): converting it would send an empty object to a conversion
// webhook.
func (s *Store) outEvent(ev storage.Event) (runtime.Object, error) {
	if ev.Type != storage.Bookmark {
		return s.out(ev.Object)
	}
	src, err := meta.Accessor(ev.Object)
	if err != nil {
		return nil, conversionError(err)
	}
	b := s.Resource.New()
	acc, err := meta.Accessor(b)
	if err != nil {
		return nil, conversionError(err)
	}
	acc.SetResourceVersion(src.GetResourceVersion())
	acc.SetAnnotations(src.GetAnnotations())
	return b, nil
}

// ResultChan implements storage.Watcher.
func (w *convertingWatcher) ResultChan() <-chan storage.Event { return w.out }

// Stop implements storage.Watcher.
func (w *convertingWatcher) Stop() {
	w.once.Do(func() { close(w.stop) })
	w.in.Stop()
}

package registry

import (
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// A typed resource served at several versions keeps one storage version
// (the first catalogue row of its etcd prefix). The store of every other
// version converts on the way in (toStorage) and out (fromStorage, also
// for watch events), so clients only ever see the version they asked for.

// fromStorage converts a stored object to the served version. Conversion
// of a stored object cannot fail for the built-in converters; should one
// fail, the object is served unconverted rather than dropped.
func (s *Store) fromStorage(obj runtime.Object) runtime.Object {
	out, err := s.Resource.FromStorage(obj)
	if err != nil {
		return obj
	}
	return out
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

func newConvertingWatcher(in storage.Watcher, conv func(runtime.Object) runtime.Object) *convertingWatcher {
	w := &convertingWatcher{in: in, out: make(chan storage.Event), stop: make(chan struct{})}
	go func() {
		defer close(w.out)
		for ev := range in.ResultChan() {
			if ev.Object != nil && ev.Type != storage.ErrorEvent {
				ev.Object = conv(ev.Object)
			}
			select {
			case w.out <- ev:
			case <-w.stop:
				return
			}
		}
	}()
	return w
}

// ResultChan implements storage.Watcher.
func (w *convertingWatcher) ResultChan() <-chan storage.Event { return w.out }

// Stop implements storage.Watcher.
func (w *convertingWatcher) Stop() {
	w.once.Do(func() { close(w.stop) })
	w.in.Stop()
}

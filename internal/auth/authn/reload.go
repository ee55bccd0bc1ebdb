package authn

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultReloadInterval is how often, at most, a file-backed authenticator
// stats its file on use to see whether it changed.
const DefaultReloadInterval = time.Second

// fileSnapshot is one parsed version of a watched file.
type fileSnapshot[T any] struct {
	val     T
	modTime time.Time
	size    int64
}

// reloadingFile keeps the parsed content of a file current. On use it
// stats the file at most once per interval; when the modification time or
// size changed it reads and parses it again. A read or parse failure keeps
// the previous content and is logged at error level: a broken file never
// replaces a good one. A file that changes while it is read is not used
// and is read again on the next check; even so, writers should replace
// the file atomically (write a temporary file, then rename it), because an
// in-place rewrite can be seen empty for an instant.
type reloadingFile[T any] struct {
	path     string
	what     string // for logs: "token file", "revocation file"
	parse    func([]byte) (T, error)
	now      func() time.Time
	interval time.Duration
	log      *slog.Logger

	cur       atomic.Pointer[fileSnapshot[T]]
	nextCheck atomic.Int64 // unix nanoseconds
	mu        sync.Mutex   // serialises reloads
}

// newReloadingFile loads path once; that first load must succeed.
func newReloadingFile[T any](path, what string, parse func([]byte) (T, error), now func() time.Time, interval time.Duration, log *slog.Logger) (*reloadingFile[T], error) {
	if path == "" {
		return nil, fmt.Errorf("%s: no path given", what)
	}
	if now == nil {
		return nil, fmt.Errorf("%s %s: no clock given", what, path)
	}
	if log == nil {
		return nil, fmt.Errorf("%s %s: no logger given", what, path)
	}
	if interval <= 0 {
		interval = DefaultReloadInterval
	}
	f := &reloadingFile[T]{path: path, what: what, parse: parse, now: now, interval: interval, log: log}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	snap, err := f.load(st)
	if err != nil {
		return nil, err
	}
	f.cur.Store(snap)
	f.nextCheck.Store(now().Add(interval).UnixNano())
	return f, nil
}

// load reads and parses the file whose stat result is st.
func (f *reloadingFile[T]) load(st os.FileInfo) (*fileSnapshot[T], error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.what, err)
	}
	if int64(len(data)) != st.Size() {
		return nil, fmt.Errorf("%s %s: changed while being read (%d bytes, then %d)", f.what, f.path, st.Size(), len(data))
	}
	v, err := f.parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", f.what, f.path, err)
	}
	return &fileSnapshot[T]{val: v, modTime: st.ModTime(), size: st.Size()}, nil
}

// get returns the current content, reloading it first when the file
// changed and the check interval has passed. Concurrent callers never
// wait for a reload: one reloads, the others use the previous content.
func (f *reloadingFile[T]) get() T {
	now := f.now()
	if now.UnixNano() >= f.nextCheck.Load() && f.mu.TryLock() {
		f.check(now)
		f.mu.Unlock()
	}
	return f.cur.Load().val
}

// check stats the file and reloads it if it changed. Callers hold mu.
func (f *reloadingFile[T]) check(now time.Time) {
	f.nextCheck.Store(now.Add(f.interval).UnixNano())
	old := f.cur.Load()
	st, err := os.Stat(f.path)
	if err != nil {
		if old.size != -1 {
			f.log.Error("cannot stat file; keeping its previous content", "file", f.what, "path", f.path, "err", err)
		}
		// Remember that it was gone, so that any file that reappears is
		// read, whatever its time stamp.
		f.cur.Store(&fileSnapshot[T]{val: old.val, size: -1})
		return
	}
	if st.ModTime().Equal(old.modTime) && st.Size() == old.size {
		return
	}
	snap, err := f.load(st)
	if st2, err2 := os.Stat(f.path); err == nil && (err2 != nil || !st2.ModTime().Equal(st.ModTime()) || st2.Size() != st.Size()) {
		// Written to while we read it (an in-place rewrite): what we read
		// may be a truncated file. Keep the old content, try again on the
		// next check.
		return
	}
	if err != nil {
		f.log.Error("reload failed; keeping the previous content", "file", f.what, "path", f.path, "err", err)
		// Do not retry until the file changes again.
		f.cur.Store(&fileSnapshot[T]{val: old.val, modTime: st.ModTime(), size: st.Size()})
		return
	}
	f.log.Info("reloaded", "file", f.what, "path", f.path)
	f.cur.Store(snap)
}

// errNilDependency reports a missing required dependency.
func errNilDependency(what, dep string) error {
	return errors.New(what + ": no " + dep + " given")
}

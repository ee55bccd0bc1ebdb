package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// File modes of the audit log: it names users and resources, so only the
// server's user may read it.
const (
	logFileMode os.FileMode = 0o600
	logDirMode  os.FileMode = 0o700
)

// DefaultMaxSize is the rotation size when FileConfig.MaxSize is 0: the
// 100 MB kube-apiserver uses when --audit-log-maxsize is 0.
const DefaultMaxSize = 100 << 20

// backupTimeFormat is the timestamp in backup names, in UTC; it sorts
// lexically and has no colons.
const backupTimeFormat = "2006-01-02T15-04-05.000"

// FileConfig configures a FileWriter (--audit-log-path,
// --audit-log-maxsize, --audit-log-maxbackup, --audit-log-maxage).
type FileConfig struct {
	// Path of the live log file. Required.
	Path string
	// MaxSize in bytes: a write that would grow the file past it first
	// rotates the file. 0 means DefaultMaxSize.
	MaxSize int64
	// MaxBackups is how many rotated files are kept (oldest removed
	// first); 0 keeps all.
	MaxBackups int
	// MaxAge removes rotated files older than this; 0 keeps them.
	MaxAge time.Duration
	// Now is the clock used to name and age backups. Required.
	Now func() time.Time
}

// FileWriter is an append-only log file rotated by size: the live file
// is renamed to <name>-<UTC timestamp><ext> (audit.log →
// audit-2026-11-05T10-00-00.000.log) and a new one started. Each Write is
// kept whole in one file. It is safe for concurrent use. Files are 0600.
type FileWriter struct {
	cfg FileConfig

	mu     sync.Mutex
	f      *os.File
	size   int64
	closed bool
}

var _ io.WriteCloser = (*FileWriter)(nil)

// OpenFile opens (or creates) the log at c.Path for appending, making its
// directory 0700 if missing and tightening an existing file to 0600.
func OpenFile(c FileConfig) (*FileWriter, error) {
	switch {
	case c.Path == "":
		return nil, errors.New("audit log: no path")
	case c.Now == nil:
		return nil, errors.New("audit log: no clock")
	case c.MaxSize < 0 || c.MaxBackups < 0 || c.MaxAge < 0:
		return nil, fmt.Errorf("audit log: negative limit (maxsize %d, maxbackup %d, maxage %s)", c.MaxSize, c.MaxBackups, c.MaxAge)
	}
	if c.MaxSize == 0 {
		c.MaxSize = DefaultMaxSize
	}
	w := &FileWriter{cfg: c}
	if err := os.MkdirAll(filepath.Dir(c.Path), logDirMode); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *FileWriter) open() error {
	f, err := os.OpenFile(w.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, logFileMode)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.Mode().Perm() != logFileMode {
		err = f.Chmod(logFileMode)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("audit log: %w", err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// Write appends p, rotating first when p would take the file past
// MaxSize (a p larger than MaxSize gets a file of its own).
func (w *FileWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, errors.New("audit log: write after close")
	}
	if w.size > 0 && w.size+int64(len(p)) > w.cfg.MaxSize {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	return n, err
}

// Rotate starts a new file now, whatever the size.
func (w *FileWriter) Rotate() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("audit log: rotate after close")
	}
	return w.rotate()
}

func (w *FileWriter) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	dir, prefix, ext := w.nameParts()
	stamp := w.cfg.Now().UTC().Format(backupTimeFormat)
	// Several rotations within a millisecond (or a clock that went back)
	// get a counter above every existing one for that stamp, so names
	// keep their order even after older ones were pruned.
	seq := -1
	if bs, err := w.backups(); err == nil {
		for _, b := range bs {
			if b.t.Format(backupTimeFormat) == stamp {
				seq = max(seq, backupSeq(b.path))
			}
		}
	}
	name := filepath.Join(dir, prefix+stamp+ext)
	for seq >= 0 || fileExists(name) {
		seq++
		name = filepath.Join(dir, fmt.Sprintf("%s%s-%d%s", prefix, stamp, seq, ext))
		if !fileExists(name) {
			break
		}
	}
	if err := os.Rename(w.cfg.Path, name); err != nil {
		// Keep logging to the old file rather than lose events.
		_ = w.open()
		return fmt.Errorf("audit log: rotating: %w", err)
	}
	if err := w.open(); err != nil {
		return err
	}
	return w.prune()
}

// nameParts splits the path into its directory, the backup name prefix
// ("audit-") and the extension (".log").
func (w *FileWriter) nameParts() (dir, prefix, ext string) {
	dir = filepath.Dir(w.cfg.Path)
	base := filepath.Base(w.cfg.Path)
	ext = filepath.Ext(base)
	return dir, strings.TrimSuffix(base, ext) + "-", ext
}

type backup struct {
	path string
	t    time.Time
}

// Backups lists the rotated files, oldest first.
func (w *FileWriter) Backups() ([]string, error) {
	bs, err := w.backups()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.path
	}
	return out, nil
}

func (w *FileWriter) backups() ([]backup, error) {
	dir, prefix, ext := w.nameParts()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	var bs []backup
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ext) {
			continue
		}
		rest := strings.TrimSuffix(strings.TrimPrefix(name, prefix), ext)
		if len(rest) < len(backupTimeFormat) {
			continue
		}
		t, err := time.Parse(backupTimeFormat, rest[:len(backupTimeFormat)])
		if err != nil {
			continue
		}
		bs = append(bs, backup{path: filepath.Join(dir, name), t: t})
	}
	sort.Slice(bs, func(i, j int) bool {
		if !bs[i].t.Equal(bs[j].t) {
			return bs[i].t.Before(bs[j].t)
		}
		return backupSeq(bs[i].path) < backupSeq(bs[j].path)
	})
	return bs, nil
}

// backupSeq is the collision counter of a backup name ("…000-2.log" → 2).
func backupSeq(path string) int {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	var n int
	if i := strings.LastIndexByte(base, '-'); i >= 0 && i > len(base)-6 {
		fmt.Sscanf(base[i+1:], "%d", &n)
	}
	return n
}

func (w *FileWriter) prune() error {
	bs, err := w.backups()
	if err != nil {
		return err
	}
	var remove []backup
	if w.cfg.MaxAge > 0 {
		cutoff := w.cfg.Now().Add(-w.cfg.MaxAge)
		kept := bs[:0]
		for _, b := range bs {
			if b.t.Before(cutoff) {
				remove = append(remove, b)
			} else {
				kept = append(kept, b)
			}
		}
		bs = kept
	}
	if w.cfg.MaxBackups > 0 && len(bs) > w.cfg.MaxBackups {
		remove = append(remove, bs[:len(bs)-w.cfg.MaxBackups]...)
	}
	var errs []error
	for _, b := range remove {
		if err := os.Remove(b.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Sync flushes the file to stable storage.
func (w *FileWriter) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	return w.f.Sync()
}

// Close syncs and closes the file; later writes fail. Closing twice is
// a no-op.
func (w *FileWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return errors.Join(w.f.Sync(), w.f.Close())
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

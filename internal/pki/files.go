package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File modes for everything this package writes. Directories and keys are
// private to the owner; certificates are public.
const (
	KeyFileMode        fs.FileMode = 0o600
	CertFileMode       fs.FileMode = 0o644
	KubeconfigFileMode fs.FileMode = 0o600 // kubeconfigs embed private keys
	DirMode            fs.FileMode = 0o700
)

// File extensions of the two halves of a key pair (kubeadm's).
const (
	CertExt = ".crt"
	KeyExt  = ".key"
)

// WriteFileAtomic writes data to path so that readers see either the old
// file or the complete new one, never a partial one: it writes a temporary
// file in the same directory, syncs it, sets mode and renames it into
// place. Missing parent directories are created with DirMode. With
// overwrite false it fails if path already exists, even if another process
// created it meanwhile.
func WriteFileAtomic(path string, data []byte, mode fs.FileMode, overwrite bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("pki: create directory %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op once renamed or linked and removed
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if overwrite {
		err = os.Rename(tmpName, path)
	} else {
		// A hard link creates the name only if it is absent, atomically,
		// so two starts racing on one data dir cannot clobber each other.
		err = os.Link(tmpName, path)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			// Filesystems without hard links: check, then rename.
			if _, statErr := os.Lstat(path); errors.Is(statErr, fs.ErrNotExist) {
				err = os.Rename(tmpName, path)
			}
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("pki: write %s: already exists (created concurrently?); refusing to overwrite", path)
		}
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename durable. Errors are ignored: some filesystems do
// not support syncing directories, and the data itself is already synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// readOptional reads path, returning (nil, false, nil) when it is absent.
func readOptional(path string) ([]byte, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, &FileError{Path: path, Err: err}
	}
	return data, true, nil
}

// ensureDir creates dir with DirMode if it does not exist. An existing
// directory keeps its mode: it is the operator's.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("pki: create directory %s: %w", dir, err)
	}
	return nil
}

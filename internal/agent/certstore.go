package agent

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// timestampLayout names the files of successive certificates, kubelet's
// kubelet-client-2006-01-02-15-04-05.pem.
const timestampLayout = "2006-01-02-15-04-05"

// certStore keeps one kind of certificate (client or serving) as kubelet
// does: dir/<prefix>-<timestamp>.pem holds a certificate and its key,
// 0600, and the symlink dir/<prefix>-current.pem names the one in use.
// Old files stay, so an operator can see what was issued when.
type certStore struct {
	dir, prefix string
	now         func() time.Time
}

// CurrentPath is the symlink's path.
func (s *certStore) CurrentPath() string {
	return filepath.Join(s.dir, s.prefix+"-current.pem")
}

// Load reads the current certificate and key. A missing file gives an
// error wrapping fs.ErrNotExist.
func (s *certStore) Load() (*tls.Certificate, error) {
	data, err := os.ReadFile(s.CurrentPath())
	if err != nil {
		return nil, err
	}
	return parsePair(s.CurrentPath(), data)
}

// parsePair reads a PEM file holding a certificate (chain) and its key.
func parsePair(path string, data []byte) (*tls.Certificate, error) {
	pair, err := tls.X509KeyPair(data, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return &pair, nil
}

// Write stores a new certificate and key and points the symlink at them
// (atomically: a reader sees the old pair or the new one). It returns the
// parsed pair.
func (s *certStore) Write(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	data := append(append(bytes.TrimSpace(certPEM), '\n'), keyPEM...)
	pair, err := parsePair(s.prefix, data)
	if err != nil {
		return nil, fmt.Errorf("agent: the issued certificate does not match its key: %w", err)
	}
	if err := os.MkdirAll(s.dir, pki.DirMode); err != nil {
		return nil, fmt.Errorf("agent: create %s: %w", s.dir, err)
	}
	name := s.prefix + "-" + s.now().UTC().Format(timestampLayout) + ".pem"
	for i := 1; ; i++ {
		// Two certificates in one second (rotation tests, fast signers)
		// must not overwrite each other.
		if _, err := os.Lstat(filepath.Join(s.dir, name)); errors.Is(err, fs.ErrNotExist) {
			break
		}
		name = fmt.Sprintf("%s-%s-%d.pem", s.prefix, s.now().UTC().Format(timestampLayout), i)
	}
	if err := pki.WriteFileAtomic(filepath.Join(s.dir, name), data, pki.KeyFileMode, false); err != nil {
		return nil, err
	}
	// A relative target keeps the data dir movable.
	tmp := filepath.Join(s.dir, "."+s.prefix+"-current.pem.tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(name, tmp); err != nil {
		return nil, fmt.Errorf("agent: link %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, s.CurrentPath()); err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("agent: link %s: %w", s.CurrentPath(), err)
	}
	return pair, nil
}

// certHolder is the certificate in use, shared by the TLS stacks that
// present it and the rotation loop that replaces it.
type certHolder struct {
	mu   sync.RWMutex
	cert *tls.Certificate
}

func (h *certHolder) Get() *tls.Certificate {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.cert
}

func (h *certHolder) Set(c *tls.Certificate) {
	h.mu.Lock()
	h.cert = c
	h.mu.Unlock()
}

package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func errForbidden() error {
	return apierrors.NewForbidden(schema.GroupResource{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}, "", errors.New("no"))
}

// TestCertStore: kubelet's layout, pki/<prefix>-<time>.pem (0600, in a
// 0700 directory) and the relative symlink <prefix>-current.pem, replaced
// atomically; two certificates in one second do not collide.
func TestCertStore(t *testing.T) {
	ca := testCA(t)
	dir := filepath.Join(t.TempDir(), "pki")
	at := time.Date(2026, 12, 6, 3, 4, 5, 0, time.UTC)
	s := &certStore{dir: dir, prefix: ClientCertPrefix, now: func() time.Time { return at }}
	if _, err := s.Load(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of an empty store: %v", err)
	}
	c1, k1 := issuePEM(t, ca, clientSpec("system:node:n1", "system:nodes"), time.Now())
	p1, err := s.Write(c1, k1)
	if err != nil {
		t.Fatal(err)
	}
	if p1.Leaf == nil || p1.Leaf.Subject.CommonName != "system:node:n1" {
		t.Fatalf("Write returned %+v", p1.Leaf)
	}
	target, err := os.Readlink(s.CurrentPath())
	if err != nil || target != "kubelet-client-2026-12-06-03-04-05.pem" {
		t.Fatalf("symlink -> %q, %v", target, err)
	}
	if s.CurrentPath() != filepath.Join(dir, "kubelet-client-current.pem") {
		t.Errorf("current path %s", s.CurrentPath())
	}
	for path, mode := range map[string]fs.FileMode{dir: 0o700 | fs.ModeDir, filepath.Join(dir, target): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v (%v)", path, fi.Mode(), mode, err)
		}
	}
	got, err := s.Load()
	if err != nil || got.Leaf.SerialNumber.Cmp(p1.Leaf.SerialNumber) != 0 {
		t.Fatalf("Load: %v %v", got, err)
	}

	// The same second again: a new name, the link moves.
	c2, k2 := issuePEM(t, ca, clientSpec("system:node:n1", "system:nodes"), time.Now())
	p2, err := s.Write(c2, k2)
	if err != nil {
		t.Fatal(err)
	}
	target, _ = os.Readlink(s.CurrentPath())
	if !regexp.MustCompile(`^kubelet-client-2026-12-06-03-04-05-1\.pem$`).MatchString(target) {
		t.Errorf("second symlink -> %q", target)
	}
	if got, _ := s.Load(); got.Leaf.SerialNumber.Cmp(p2.Leaf.SerialNumber) != 0 {
		t.Error("Load does not see the new certificate")
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "kubelet-client-2*.pem")); len(files) != 2 {
		t.Errorf("files %v", files)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// A certificate that does not match its key is refused, and the link
	// stays.
	if _, err := s.Write(c1, k2); err == nil {
		t.Error("mismatched certificate and key accepted")
	}
	if got, _ := s.Load(); got.Leaf.SerialNumber.Cmp(p2.Leaf.SerialNumber) != 0 {
		t.Error("a failed write moved the link")
	}
}

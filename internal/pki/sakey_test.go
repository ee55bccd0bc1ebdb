package pki

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestEnsureServiceAccountKey(t *testing.T) {
	dir := t.TempDir()
	keyPath, pubPath, err := EnsureServiceAccountKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(keyPath); fi.Mode().Perm() != KeyFileMode {
		t.Errorf("sa.key mode %v", fi.Mode().Perm())
	}
	key1, _ := os.ReadFile(keyPath)
	// Reused on the next call.
	if _, _, err := EnsureServiceAccountKey(dir, ""); err != nil {
		t.Fatal(err)
	}
	if key2, _ := os.ReadFile(keyPath); string(key1) != string(key2) {
		t.Error("sa.key regenerated")
	}
	// A lost sa.pub is rewritten from sa.key.
	os.Remove(pubPath)
	if _, _, err := EnsureServiceAccountKey(dir, ""); err != nil {
		t.Fatal(err)
	}
	// A foreign sa.pub is refused.
	other := t.TempDir()
	_, otherPub, _ := EnsureServiceAccountKey(other, "")
	data, _ := os.ReadFile(otherPub)
	os.WriteFile(pubPath, data, 0o644)
	if _, _, err := EnsureServiceAccountKey(dir, ""); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("mismatched sa.pub: %v", err)
	}
	// A corrupt sa.key is refused, not replaced.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, ServiceAccountKeyFile), []byte("garbage"), 0o600)
	if _, _, err := EnsureServiceAccountKey(bad, ""); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt sa.key: %v", err)
	}
}

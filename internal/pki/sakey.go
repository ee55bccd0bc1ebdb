package pki

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The service-account key pair's files, as kubeadm names them.
const (
	ServiceAccountKeyFile    = "sa.key"
	ServiceAccountPubKeyFile = "sa.pub"
)

// EnsureServiceAccountKey ensures the key pair that signs service-account
// tokens in dir: sa.key (0600) and sa.pub (0644, PKIX). An existing key is
// reused; a missing sa.pub is written from it; an sa.pub that does not
// match sa.key is an error naming both (tokens signed before would stop
// verifying if either were replaced silently).
func EnsureServiceAccountKey(dir string, alg KeyAlgorithm) (keyPath, pubPath string, err error) {
	keyPath, pubPath = filepath.Join(dir, ServiceAccountKeyFile), filepath.Join(dir, ServiceAccountPubKeyFile)
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return "", "", &FileError{Path: dir, Err: err}
	}
	var key crypto.Signer
	data, err := os.ReadFile(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if key, err = GenerateKey(alg); err != nil {
			return "", "", err
		}
		pem, err := EncodeKeyPEM(key)
		if err != nil {
			return "", "", err
		}
		if err := WriteFileAtomic(keyPath, pem, KeyFileMode, false); err != nil {
			return "", "", err
		}
	case err != nil:
		return "", "", &FileError{Path: keyPath, Err: err}
	default:
		if key, err = ParseKeyPEM(data); err != nil {
			return "", "", &FileError{Path: keyPath, Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
		}
	}
	pubPEM, err := EncodePublicKeyPEM(key.Public())
	if err != nil {
		return "", "", err
	}
	existing, err := os.ReadFile(pubPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := WriteFileAtomic(pubPath, pubPEM, CertFileMode, false); err != nil {
			return "", "", err
		}
	case err != nil:
		return "", "", &FileError{Path: pubPath, Err: err}
	case !bytes.Equal(bytes.TrimSpace(existing), bytes.TrimSpace(pubPEM)):
		keys, perr := ParsePublicKeysPEM(existing)
		if perr != nil || len(keys) != 1 || !publicKeysEqual(keys[0], key.Public()) {
			return "", "", &FileError{Path: pubPath, Err: fmt.Errorf("%w: it is not the public half of %s", ErrKeyMismatch, keyPath)}
		}
	}
	return keyPath, pubPath, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

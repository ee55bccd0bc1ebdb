package pki

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is. Ensure functions wrap them in a
// *FileError naming the offending file.
var (
	// ErrCorrupt means a file exists but is not the PEM it should be.
	ErrCorrupt = errors.New("corrupt or unparseable PEM")
	// ErrKeyMismatch means a private key does not belong to its certificate.
	ErrKeyMismatch = errors.New("private key does not match certificate")
	// ErrNotSignedByCA means a certificate was not issued by the expected CA.
	ErrNotSignedByCA = errors.New("certificate is not signed by the CA")
	// ErrIdentityDrift means a certificate's subject, SANs or usages differ
	// from what is requested now.
	ErrIdentityDrift = errors.New("identity drift")
	// ErrExpired means a certificate is outside its validity period.
	ErrExpired = errors.New("certificate expired or not yet valid")
	// ErrExternalCA means a certificate would have to be issued but the CA's
	// private key is absent (external-CA mode): every leaf must be provided.
	ErrExternalCA = errors.New("CA private key is absent (external CA mode)")
	// ErrMissing means a file that must exist alongside another does not.
	ErrMissing = errors.New("file missing")
)

// FileError reports a problem with one PKI file. Its message starts with the
// path so start-up errors point straight at the file.
type FileError struct {
	Path string // the file concerned
	Err  error  // wraps one of the sentinel errors when applicable
}

// Error implements error as "pki: <path>: <problem>".
func (e *FileError) Error() string { return fmt.Sprintf("pki: %s: %v", e.Path, e.Err) }

// Unwrap lets errors.Is see the sentinel inside.
func (e *FileError) Unwrap() error { return e.Err }

// fileErr builds a *FileError whose message is sentinel plus detail.
func fileErr(path string, sentinel error, format string, args ...any) error {
	if format == "" {
		return &FileError{Path: path, Err: sentinel}
	}
	return &FileError{Path: path, Err: fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))}
}

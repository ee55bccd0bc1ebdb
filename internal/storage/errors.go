package storage

import (
	"errors"
	"fmt"
)

// ErrorCode classifies storage errors so the registry can map them to API
// status codes.
type ErrorCode int

// The storage error codes.
const (
	ErrCodeKeyNotFound ErrorCode = iota + 1
	ErrCodeKeyExists
	ErrCodeConflict // precondition or resourceVersion mismatch
	ErrCodeResourceVersionTooOld
	ErrCodeInvalidContinue
	ErrCodeInvalidResourceVersion
	ErrCodeTimeout // the requested resourceVersion was not reached in time
	ErrCodeUnreachable
)

// Error is the error type returned by storage implementations.
type Error struct {
	Code            ErrorCode
	Key             string
	ResourceVersion int64
	Msg             string
	// Continue, on a list whose continue token's revision is compacted,
	// resumes from the same key at the latest revision: the rest of the
	// list, no longer consistent with the pages already returned.
	Continue string
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	switch e.Code {
	case ErrCodeKeyNotFound:
		return fmt.Sprintf("key %q not found", e.Key)
	case ErrCodeKeyExists:
		return fmt.Sprintf("key %q already exists", e.Key)
	case ErrCodeConflict:
		return fmt.Sprintf("key %q: precondition failed", e.Key)
	case ErrCodeResourceVersionTooOld:
		return fmt.Sprintf("resource version %d is too old", e.ResourceVersion)
	case ErrCodeInvalidContinue:
		return "invalid continue token"
	case ErrCodeTimeout:
		return fmt.Sprintf("timed out waiting for resource version %d", e.ResourceVersion)
	}
	return fmt.Sprintf("storage error %d on key %q", e.Code, e.Key)
}

// NewError returns an *Error with the given code, key and message.
func NewError(code ErrorCode, key, msg string) *Error {
	return &Error{Code: code, Key: key, Msg: msg}
}

// CodeOf returns the code of a storage error, or 0 when err is not one.
func CodeOf(err error) ErrorCode {
	var se *Error
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// IsNotFound reports whether err is a storage ErrCodeKeyNotFound.
func IsNotFound(err error) bool { return CodeOf(err) == ErrCodeKeyNotFound }

// IsExists reports whether err is a storage ErrCodeKeyExists.
func IsExists(err error) bool { return CodeOf(err) == ErrCodeKeyExists }

// IsConflict reports whether err is a storage ErrCodeConflict.
func IsConflict(err error) bool { return CodeOf(err) == ErrCodeConflict }

// Package filters holds the HTTP filters every request passes before it
// reaches a handler: panic recovery, request info, max in-flight,
// authentication and authorization. Each filter has the shape
// func WithX(next http.Handler, deps…) http.Handler and shares state only
// through internal/apiserver/request; Chain fixes their order in one place.
// Filters fail closed: a missing dependency or missing context value is an
// error, never a pass.
package filters

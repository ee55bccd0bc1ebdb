// Package request holds what the filter chain learns about a request
// (its RequestInfo, the authenticated user) and carries it to later
// filters and handlers through the request context. Missing values are
// reported as absent, never defaulted, so callers can fail closed.
package request

// Package apiserver assembles kastle's API server: storage, the resource
// catalogue and its registry stores, admission, the filter chain, the
// endpoint handlers, discovery, OpenAPI, health and metrics, served over
// TLS with client-certificate authentication.
package apiserver

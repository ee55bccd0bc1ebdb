// Package aggregator is API aggregation, kube-aggregator's job: requests
// for the group version of an APIService that names a Service are proxied
// (streaming, watches and upgrades included) to that extension API
// server, after kastle authenticated and authorized them. The extension
// learns the caller from the front-proxy headers (X-Remote-User,
// X-Remote-Group, X-Remote-Extra-*), trusting them because the
// connection presents the proxy client certificate.
//
// The Aggregator also checks each APIService's availability (the
// extension's discovery endpoint, read with the same certificate) and
// keeps the extension's resources and OpenAPI document for discovery and
// /openapi merging.
package aggregator

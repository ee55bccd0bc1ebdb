// Command loadgen measures a Kubernetes-compatible API server from the
// outside, the way its users see it: over HTTPS with a kubeconfig, through
// client-go. It works the same against kastle and against kube-apiserver, so
// the two can be compared number for number.
//
// Two modes:
//
//	loadgen --kubeconfig PATH [flags]            run load scenarios
//	loadgen coldstart --cmd CMD --kubeconfig PATH [flags]
//	                                             start a server, time /readyz, read RSS, run load
//
// Scenarios (ConfigMaps in namespaces loadgen creates and deletes): create,
// get, list, update and watch (fan-out). Each prints requests, req/s and p50/p99
// latency; with --json-out the same numbers are written as JSON. Every loop is
// bounded by --duration and --max-requests, and every setup and cleanup step has
// a timeout, so a run always ends by itself. See bench/README.md.
package main

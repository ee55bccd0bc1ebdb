// Package testenv starts a real, secured Kubernetes-compatible control
// plane (the kastle API server on an embedded etcd) inside the test
// process, for testing controllers and operators: envtest's shape,
// without kube-apiserver and etcd binaries.
//
// Every Environment has its own temporary data directory, its own
// certificate authorities and its own free loopback ports, and keeps no
// package-level state, so many environments can run in one process
// (t.Parallel) and in parallel test binaries (go test -p N). Stop
// releases everything the environment started.
//
// Options keep envtest's names where the two overlap (CRDDirectoryPaths,
// CRDs, ErrorIfCRDPathMissing, WebhookInstallOptions,
// AttachControlPlaneOutput), so that migrating is mechanical; see
// docs/testing.md.
//
// # Stability
//
// testenv is kastle's only public Go package. Until kastle 1.0 its API
// may change in minor releases, but only with a note in the release
// notes; exported names are not removed without a release in which they
// are deprecated first. Behaviour that envtest documents (CRDs
// Established and webhook configurations created before Start returns,
// the meaning of the envtest-named options) is kept. Everything under
// kastle's internal/ directory is out of scope of this promise.
package testenv

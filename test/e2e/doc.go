// Package e2e holds kastle's end-to-end tests: they build the real binary,
// start it as a separate process on 127.0.0.1 with a free port, and drive it
// with the real kubectl, curl, openssl and client-go, asserting on what those
// tools print. Nothing is mocked; every test cleans up its processes and data.
//
// Run with `go test ./test/e2e/ -count=1`. kubectl, curl and openssl must be
// on PATH; TestMain fails with a clear message when one is missing.
package e2e

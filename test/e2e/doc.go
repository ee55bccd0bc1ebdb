// Package e2e holds kastle's end-to-end tests: they build the real binary,
// start it as a separate process on 127.0.0.1 with a free port, and drive it
// with the real kubectl, curl, openssl and client-go, asserting on what those
// tools print. Nothing is mocked; every test cleans up its processes and data.
//
// Run with `go test ./test/e2e/ -count=1`. kubectl, curl and openssl must be
// on PATH; TestMain fails with a clear message when one is missing. Most tests
// share one server and work in their own namespace; restart and persistence
// tests start servers of their own.
//
// The watch tests use a client-go informer when built with -tags
// e2e_informer (that needs github.com/pmezard/go-difflib listed in go.mod,
// a dependency of k8s.io/client-go/tools/cache), and otherwise an equivalent
// list-then-watch loop. E2E_TRACE=1 logs every read client-go makes.
package e2e

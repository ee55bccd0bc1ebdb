package controllertest

import (
	"context"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/informers"

	"github.com/kastle-dev/kastle/pkg/testenv"
)

// Start starts an API server that runs no controller, with crds
// installed and served, stopped when the test ends.
func Start(t testing.TB, crds ...*apiextensionsv1.CustomResourceDefinition) *testenv.Environment {
	t.Helper()
	env, err := testenv.Start(context.Background(), testenv.Options{APIServerFlags: []string{"--run-controllers=false"}, CRDs: crds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	return env
}

// Run starts factory's informers and run, and stops both (waiting for
// run to return) when the test ends.
func Run(t testing.TB, factory informers.SharedInformerFactory, run func(context.Context)) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	factory.Start(ctx.Done())
	go func() { defer close(done); run(ctx) }()
	t.Cleanup(func() { stop(); <-done; factory.Shutdown() })
}

// Eventually polls cond, which says what is still missing ("" when
// done), and fails the test after 40 s.
func Eventually(t testing.TB, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

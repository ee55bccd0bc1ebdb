package testenv_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/pkg/testenv"
)

// recordingTB stands in for the *testing.T given to New, recording a
// fatal failure (and ending the goroutine, as the real one does).
type recordingTB struct {
	testing.TB
	fatal    string
	cleanups []func()
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// TestNewFailsWithServerLog: a start that fails after the server ran
// fails the test with the error and the server's last log lines, and
// registers no cleanup (nothing is left running).
func TestNewFailsWithServerLog(t *testing.T) {
	t.Parallel()
	tb := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		testenv.New(tb, testenv.Options{CRDs: []*apiextensionsv1.CustomResourceDefinition{{ObjectMeta: metav1.ObjectMeta{Name: "broken"}}}})
	}()
	<-done
	for _, want := range []string{"creating CRD broken", "last lines of the server's log", "kastle API server ready"} {
		if !strings.Contains(tb.fatal, want) {
			t.Errorf("failure message lacks %q:\n%s", want, tb.fatal)
		}
	}
	if len(tb.cleanups) != 0 {
		t.Errorf("%d cleanups registered for an environment that did not start", len(tb.cleanups))
	}
}

// TestNewRegistersStop: a started environment is stopped by the test's
// cleanup.
func TestNewRegistersStop(t *testing.T) {
	t.Parallel()
	tb := &recordingTB{TB: t}
	env := testenv.New(tb, testenv.Options{})
	if len(tb.cleanups) != 1 {
		t.Fatalf("%d cleanups registered, want 1", len(tb.cleanups))
	}
	tb.cleanups[0]()
	if err := env.Stop(); err != nil {
		t.Errorf("Stop after the cleanup: %v", err)
	}
	if _, err := env.Client().CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{}); err == nil {
		t.Error("the server still answers after the cleanup ran")
	}
}

package testenv_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/pkg/testenv"
)

// TestStopReleasesEverything starts and stops one environment and checks
// that no goroutine, file or port is left behind.
func TestStopReleasesEverything(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	env, err := testenv.Start(context.Background(), testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := env.Client().CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Name != "kube-system" {
		t.Fatalf("got namespace %q", ns.Name)
	}
	if _, err := os.Stat(env.KubeconfigPath()); err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	addr := strings.TrimPrefix(env.URL(), "https://")
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(env.DataDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data dir %s still there after Stop: %v", env.DataDir(), err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Stop", addr)
	}
	if err := env.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	_ = corev1.NamespaceDefault
}

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// process is a background kastle process other than the server.
type process struct {
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{}
}

// startProcess runs the kastle binary with args and stops it (SIGTERM,
// then SIGKILL) when the test ends.
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(env.kastle, args...), log: newLogBuffer(), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			p.signal(syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("%v log (tail):\n%s", args[:1], p.log.tail(8<<10))
		}
	})
	return p
}

func (p *process) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
}

// TestControllerManagerFailover runs the controllers out of process: a
// server with --run-controllers=false and two `kastle controller-manager`
// processes on its controller-manager.conf. One leads and signs; when it
// is killed, the other takes the Lease over and signs.
func TestControllerManagerFailover(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--run-controllers=false")
	ctx := context.Background()
	admin := s.clientset(t)
	args := []string{"controller-manager", "--kubeconfig", filepath.Join(s.dataDir, "controller-manager.conf"),
		"--cluster-signing-cert-file", filepath.Join(s.dataDir, "pki", "ca.crt"),
		"--cluster-signing-key-file", filepath.Join(s.dataDir, "pki", "ca.key"),
		"--root-ca-file", filepath.Join(s.dataDir, "pki", "ca.crt"),
		"--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s", "--leader-elect-retry-period", "500ms"}
	managers := []*process{startProcess(t, args...), startProcess(t, args...)}

	signed := func(name string) {
		t.Helper()
		_, req := makeCSR(t, name, nil, nil, nil)
		if err := createCSR(ctx, admin, name, "kubernetes.io/kube-apiserver-client", req, certificatesv1.UsageClientAuth); err != nil {
			t.Fatal(err)
		}
		s.mustKubectl(t, "certificate", "approve", name)
		waitCSR(t, admin, name, "issued", issued)
	}
	leader := func() int {
		t.Helper()
		var idx int
		eventually(t, 30*time.Second, func() string {
			lease, err := admin.CoordinationV1().Leases("kube-system").Get(ctx, "kube-controller-manager", metav1.GetOptions{})
			if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
				return fmt.Sprintf("no leader yet: %v", err)
			}
			for i, m := range managers {
				select {
				case <-m.done:
					continue
				default:
				}
				if strings.Contains(m.log.String(), "identity="+*lease.Spec.HolderIdentity) && strings.Contains(m.log.String(), "leading: starting controllers") {
					idx = i
					return ""
				}
			}
			return "the lease holder " + *lease.Spec.HolderIdentity + " is not a running manager"
		})
		return idx
	}
	first := leader()
	signed("before-failover")
	// The namespace defaults come from the manager too.
	s.mustKubectl(t, "create", "namespace", "cm-defaults")
	eventually(t, 10*time.Second, func() string {
		if r := s.kubectl(t, "get", "serviceaccount", "default", "-n", "cm-defaults"); r.code != 0 {
			return "no default service account: " + r.stderr
		}
		if r := s.kubectl(t, "get", "configmap", "kube-root-ca.crt", "-n", "cm-defaults"); r.code != 0 {
			return "no kube-root-ca.crt: " + r.stderr
		}
		return ""
	})
	start := time.Now()
	managers[first].signal(syscall.SIGKILL)
	<-managers[first].done
	second := leader()
	if second == first {
		t.Fatalf("leader did not change")
	}
	signed("after-failover")
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("failover took %v, want under 30s", d)
	}
}

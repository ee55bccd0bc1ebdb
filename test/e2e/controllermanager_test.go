package e2e

import (
	"context"
	"encoding/base64"
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

// TestControllerManagerOutOfProcess: with --run-controllers=false the API
// server runs no controller at all; one `kastle controller-manager`
// process deletes namespaces with their content, collects dependents
// (background, foreground; orphan keeps them) and fills legacy token
// Secrets whose token works with kubectl.
func TestControllerManagerOutOfProcess(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--run-controllers=false")
	pkiDir := filepath.Join(s.dataDir, "pki")
	startProcess(t, "controller-manager", "--kubeconfig", filepath.Join(s.dataDir, "controller-manager.conf"),
		"--root-ca-file", filepath.Join(pkiDir, "ca.crt"),
		"--service-account-private-key-file", filepath.Join(pkiDir, "sa.key"),
		"--controllers", "*,-csrsigning", "--leader-elect=false")

	// Namespace deletion.
	s.mustKubectl(t, "create", "namespace", "doomed")
	s.mustKubectl(t, "create", "configmap", "c", "-n", "doomed", "--from-literal=a=1")
	s.mustKubectl(t, "create", "secret", "generic", "s", "-n", "doomed", "--from-literal=a=1")
	mustContain(t, s.mustKubectl(t, "delete", "namespace", "doomed", "--timeout=60s"), `namespace "doomed" deleted`)
	if r := s.kubectl(t, "get", "namespace", "doomed"); r.code == 0 {
		t.Errorf("namespace still there: %s", r)
	}
	for _, res := range []string{"configmaps", "secrets"} {
		if out := s.mustKubectl(t, "get", res, "-n", "doomed", "-o", "name"); strings.TrimSpace(out) != "" {
			t.Errorf("%s outlived their namespace: %s", res, out)
		}
	}

	// It did so as its own service account, not as the manager.
	s.mustKubectl(t, "get", "serviceaccount", "-n", "kube-system", "namespace-controller")

	// Garbage collection.
	owned := func(name, owner string) {
		t.Helper()
		uid := s.mustKubectl(t, "get", "configmap", owner, "-o", "jsonpath={.metadata.uid}")
		s.mustKubectlWith(t, runOpts{stdin: fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: %s, uid: %s, blockOwnerDeletion: true}]
`, name, owner, uid)}, "create", "-f", "-")
	}
	gone := func(names ...string) func() string {
		return func() string {
			for _, n := range names {
				if r := s.kubectl(t, "get", "configmap", n); r.code == 0 {
					return n + " still exists"
				}
			}
			return ""
		}
	}
	for _, cascade := range []string{"background", "foreground", "orphan"} {
		owner := cascade + "-owner"
		s.mustKubectl(t, "create", "configmap", owner)
		owned(cascade+"-child", owner)
		owned(cascade+"-grandchild", cascade+"-child")
		s.mustKubectl(t, "delete", "configmap", owner, "--cascade="+cascade, "--timeout=60s")
		if cascade == "orphan" {
			eventually(t, 30*time.Second, gone(owner))
			if refs := s.mustKubectl(t, "get", "configmap", cascade+"-child", "-o", "jsonpath={.metadata.ownerReferences}"); refs != "" {
				t.Errorf("orphaned child keeps its owner reference: %s", refs)
			}
			s.mustKubectl(t, "get", "configmap", cascade+"-grandchild")
			continue
		}
		eventually(t, 30*time.Second, gone(owner, cascade+"-child", cascade+"-grandchild"))
	}

	s.mustKubectl(t, "get", "serviceaccount", "-n", "kube-system", "generic-garbage-collector")

	// Legacy service-account token.
	s.mustKubectl(t, "create", "serviceaccount", "old-style")
	s.mustKubectlWith(t, runOpts{stdin: `apiVersion: v1
kind: Secret
metadata:
  name: old-style-token
  annotations: {kubernetes.io/service-account.name: old-style}
type: kubernetes.io/service-account-token
`}, "create", "-f", "-")
	var token string
	eventually(t, 30*time.Second, func() string {
		out := s.mustKubectl(t, "get", "secret", "old-style-token", "-o", "jsonpath={.data.token}")
		b, err := base64.StdEncoding.DecodeString(out)
		if out == "" || err != nil {
			return fmt.Sprintf("token not filled in (%v)", err)
		}
		token = string(b)
		return ""
	})
	r := run(t, runOpts{env: []string{"KUBECONFIG=/dev/null", "KUBECACHEDIR=" + t.TempDir()}}, env.kubectl,
		"--server", s.url, "--certificate-authority", filepath.Join(pkiDir, "ca.crt"), "--token", token,
		"auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if r.code != 0 || r.stdout != "system:serviceaccount:default:old-style" {
		t.Errorf("kubectl with the legacy token: %s", r)
	}
}

// TestServerControllersFlag: `kastle server --controllers` selects the
// in-process controllers as kube-controller-manager's flag does, and a
// misspelt name stops the start with an error naming it.
func TestServerControllersFlag(t *testing.T) {
	t.Parallel()
	for _, bad := range []struct{ flag, value, want string }{
		{"--controllers", "*,-namespaces", `"namespaces" is not a known controller`},
		{"--kube-api-content-type", "application/yaml", `--kube-api-content-type: "application/yaml"`},
	} {
		r := kastleCmd(t, "server", "--data-dir", filepath.Join(t.TempDir(), "bad"), "--secure-port", "0",
			"--bind-address", "127.0.0.1", bad.flag, bad.value)
		if r.code == 0 || !strings.Contains(r.stderr, bad.want) {
			t.Fatalf("%s %s was not refused: %s", bad.flag, bad.value, r)
		}
	}

	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--controllers", "*,-namespace")
	s.mustKubectl(t, "create", "namespace", "kept")
	// The other controllers run: the default service account appears.
	s.mustKubectl(t, "wait", "--for=create", "serviceaccount/default", "-n", "kept", "--timeout=30s")
	s.mustKubectl(t, "delete", "namespace", "kept", "--wait=false")
	// Without the namespace controller nothing finalizes it.
	time.Sleep(3 * time.Second)
	if phase := s.mustKubectl(t, "get", "namespace", "kept", "-o", "jsonpath={.status.phase}"); phase != "Terminating" {
		t.Errorf("namespace phase %q, want Terminating with the namespace controller left out", phase)
	}
}

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/storage/embedded"
)

// etcdCluster starts scripts/etcd-cluster.sh's three-member TLS cluster
// on free loopback ports and returns kastle's --etcd-* flags.
func etcdCluster(t *testing.T) (dir string, flags []string) {
	t.Helper()
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Fatalf("etcd is required (Debian's etcd-server; .ci/run installs it): %v", err)
	}
	dir = filepath.Join(t.TempDir(), "etcd")
	var base int
	for try := 0; try < 50 && base == 0; try++ {
		b := 30000 + rand.IntN(25000)
		free := true
		for _, off := range []int{1, 2, 3, 11, 12, 13, 21, 22, 23} {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", b+off))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			base = b
		}
	}
	script, _ := filepath.Abs("../../scripts/etcd-cluster.sh")
	cmd := exec.Command("bash", script, "start", dir, "3", fmt.Sprint(base))
	cmd.Env = append(cmd.Environ(), "KASTLE="+env.kastle)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	t.Cleanup(func() { _ = exec.Command("bash", script, "stop", dir).Run() })
	if err != nil {
		t.Fatalf("etcd cluster: %v\n%s", err, out)
	}
	return dir, strings.Fields(strings.TrimSpace(string(out)))
}

var cpJoinLine = regexp.MustCompile(`kastle join (\S+) --token (\S+) --discovery-token-ca-cert-hash (\S+) --control-plane --certificate-key ([0-9a-f]{64})`)

// TestHA: an external three-member etcd cluster over TLS, `kastle init
// --upload-certs` on 127.0.0.2, a second control plane joined with
// --control-plane --certificate-key on 127.0.0.3; kubectl works against
// either; writes acknowledged while an etcd member is killed are all kept;
// with the first API server stopped, the second serves and its controller
// manager takes over signing.
func TestHA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd cluster and two control planes")
	}
	t.Parallel()
	etcdDir, etcdFlags := etcdCluster(t)
	dir := t.TempDir()
	port := func(ip string) int {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	p1, p2 := port("127.0.0.2"), port("127.0.0.3")
	endpoint := fmt.Sprintf("127.0.0.2:%d", p1)
	initArgs := append([]string{"init", "--data-dir", filepath.Join(dir, "cp1"), "--bind-address", "127.0.0.2", "--secure-port", fmt.Sprint(p1),
		"--control-plane-endpoint", endpoint, "--apiserver-cert-extra-sans", "127.0.0.3", "--upload-certs", "--node-name", "cp1"}, etcdFlags...)
	cp1 := startProcess(t, initArgs...)
	var m []string
	eventually(t, 60*time.Second, func() string {
		if m = cpJoinLine.FindStringSubmatch(cp1.log.String()); m == nil {
			return "no control-plane join command yet:\n" + cp1.log.tail(3000)
		}
		return ""
	})
	// An etcd older than 3.4.31 / 3.5.13 may notify watch progress ahead
	// of its events: the API server then reads consistently from etcd and
	// says so.
	out, err := exec.Command("etcd", "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	version, ok := strings.CutPrefix(strings.SplitN(string(out), "\n", 2)[0], "etcd Version: ")
	if !ok {
		t.Fatalf("etcd --version: %q", out)
	}
	old := !embedded.ProgressNotifyFixed(version)
	if warned := strings.Contains(cp1.log.String(), "consistent reads go to etcd"); warned != old {
		t.Errorf("etcd %s: warning about consistent reads %v, want %v", version, warned, old)
	}
	cp2 := startProcess(t, "join", m[1], "--token", m[2], "--discovery-token-ca-cert-hash", m[3], "--control-plane", "--certificate-key", m[4],
		"--data-dir", filepath.Join(dir, "cp2"), "--node-ip", "127.0.0.3", "--apiserver-bind-port", fmt.Sprint(p2))
	eventually(t, 60*time.Second, func() string {
		if !readyLine.MatchString(cp2.log.String()) {
			return "second control plane not ready:\n" + cp2.log.tail(3000)
		}
		return ""
	})
	s1 := &server{dataDir: filepath.Join(dir, "cp1"), url: "https://" + endpoint, kubeconfig: filepath.Join(dir, "cp1", "admin.conf"), cacheDir: filepath.Join(dir, "c1")}
	s2 := &server{dataDir: filepath.Join(dir, "cp2"), url: fmt.Sprintf("https://127.0.0.3:%d", p2), kubeconfig: filepath.Join(dir, "cp2", "admin.conf"), cacheDir: filepath.Join(dir, "c2")}
	// One cluster, two doors; both CAs are the same and both servers'
	// certificates carry both addresses.
	s1.mustKubectl(t, "create", "configmap", "ha-1", "--from-literal=via=cp1")
	if out := s2.mustKubectl(t, "get", "configmap", "ha-1", "-o", "jsonpath={.data.via}"); out != "cp1" {
		t.Fatalf("cp2 reads %q", out)
	}
	s2.mustKubectl(t, "get", "node", "cp1")

	// Acknowledged writes survive losing an etcd member.
	ctx := context.Background()
	c2 := s2.clientset(t)
	var acked []string
	for i := 0; i < 60; i++ {
		if i == 20 {
			if err := exec.Command("bash", "../../scripts/etcd-cluster.sh", "kill-member", etcdDir, "2").Run(); err != nil {
				t.Fatalf("killing an etcd member: %v", err)
			}
		}
		name := fmt.Sprintf("w-%d", i)
		if _, err := c2.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err == nil {
			acked = append(acked, name)
		}
	}
	if len(acked) < 50 {
		t.Errorf("only %d of 60 writes acknowledged with one etcd member down", len(acked))
	}
	for _, name := range acked {
		if _, err := s1.clientset(t).CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("acknowledged write %s lost: %v", name, err)
		}
	}

	// The first control plane goes; the second serves and its controller
	// manager takes the lease over.
	cp1.signal(syscall.SIGTERM)
	select {
	case <-cp1.done:
	case <-time.After(20 * time.Second):
		t.Fatal("cp1 did not stop")
	}
	start := time.Now()
	s2.mustKubectl(t, "get", "configmap", "ha-1")
	_, req := makeCSR(t, "after-failover", nil, nil, nil)
	if err := createCSR(ctx, c2, "after-failover", "kubernetes.io/kube-apiserver-client", req, certificatesv1.UsageClientAuth); err != nil {
		t.Fatal(err)
	}
	s2.mustKubectl(t, "certificate", "approve", "after-failover")
	waitCSR(t, c2, "after-failover", "signed after failover", issued)
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("controllers took %v to fail over, want under 30s", d)
	}
}

package e2e

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var joinLine = regexp.MustCompile(`kastle join (\S+) --token (\S+) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})`)

// startInit runs `kastle init` on data (127.0.0.1, a free port, node
// nodeName) and returns the process, a handle on its control plane and
// the join line's endpoint, token and CA hash.
func startInit(t *testing.T, data, nodeName string, extra ...string) (*process, *server, []string) {
	t.Helper()
	p := startProcess(t, append([]string{"init", "--data-dir", data, "--secure-port", "0", "--bind-address", "127.0.0.1", "--node-name", nodeName, "--token-ttl", "1h"}, extra...)...)
	var m []string
	eventually(t, 60*time.Second, func() string {
		if m = joinLine.FindStringSubmatch(p.log.String()); m == nil {
			return "no join command yet:\n" + p.log.tail(2000)
		}
		return ""
	})
	s := &server{dataDir: data, url: "https://" + m[1], kubeconfig: filepath.Join(data, "admin.conf"), cacheDir: data + "-kubectl-cache"}
	return p, s, m[1:]
}

// TestInitThenJoin: `kastle init` runs kubeadm's phases with their progress
// lines, serves, and prints a join command with which `kastle join`
// discovers the cluster; the init node is a labelled, tainted control
// plane, the configuration and a token are stored.
func TestInitThenJoin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "cp")
	p, s, join := startInit(t, data, "cp1")
	m := append([]string{""}, join...)
	out := p.log.String()
	for _, phase := range []string{"[preflight]", "[certs]", "[kubeconfig] Writing \"super-admin.conf\"", "[kubeconfig] Writing \"kubelet.conf\"",
		"[control-plane]", "[upload-config]", "[mark-control-plane]", "[bootstrap-token]", "initialized successfully"} {
		if !strings.Contains(out, phase) {
			t.Errorf("init output lacks %q", phase)
		}
	}
	labels := s.mustKubectl(t, "get", "node", "cp1", "-o", "jsonpath={.metadata.labels} {.spec.taints}")
	mustContain(t, labels, "node-role.kubernetes.io/control-plane", "NoSchedule")
	s.mustKubectl(t, "get", "configmap", "-n", "kube-system", "kastle-config")
	mustContain(t, kastleCmd(t, "token", "list", "--data-dir", data).stdout, m[2], "system:bootstrappers:kubeadm:default-node-token")
	for _, f := range []string{"admin.conf", "super-admin.conf", "controller-manager.conf", "kubelet.conf", "pki/ca.crt", "pki/apiserver-kubelet-client.crt", "pki/sa.key",
		"pki/front-proxy-ca.crt", "pki/front-proxy-client.crt", "pki/etcd/ca.crt", "pki/etcd/server.crt", "pki/etcd/peer.crt",
		"pki/etcd/healthcheck-client.crt", "pki/apiserver-etcd-client.crt"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Errorf("init did not write %s: %v", f, err)
		}
	}
	// kubeadm's set chains as kubeadm's does.
	for _, chain := range [][2]string{{"front-proxy-ca", "front-proxy-client"}, {"etcd/ca", "etcd/server"}, {"etcd/ca", "etcd/peer"},
		{"etcd/ca", "apiserver-etcd-client"}, {"ca", "apiserver-kubelet-client"}} {
		r := run(t, runOpts{}, env.openssl, "verify", "-CAfile", filepath.Join(data, "pki", chain[0]+".crt"), filepath.Join(data, "pki", chain[1]+".crt"))
		if r.code != 0 || !strings.Contains(r.stdout, "OK") {
			t.Errorf("openssl verify %s by %s: %s", chain[1], chain[0], r)
		}
	}
	etcdSANs := run(t, runOpts{}, env.openssl, "x509", "-in", filepath.Join(data, "pki", "etcd", "server.crt"), "-noout", "-ext", "subjectAltName,extendedKeyUsage")
	mustContain(t, etcdSANs.stdout, "DNS:localhost", "DNS:cp1", "IP Address:127.0.0.1", "TLS Web Server Authentication", "TLS Web Client Authentication")
	// The printed join command discovers the cluster.
	eventually(t, 10*time.Second, func() string {
		r := kastleCmd(t, "join", m[1], "--token", m[2], "--discovery-token-ca-cert-hash", m[3], "--data-dir", filepath.Join(dir, "node"), "--skip-phases", "kubelet-start")
		if r.code != 0 {
			return r.String()
		}
		return ""
	})

	// Pre-flight refuses a foreign data directory and a busy port, each
	// named, unless ignored.
	foreign := filepath.Join(dir, "foreign")
	_ = os.MkdirAll(foreign, 0o700)
	_ = os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	r := kastleCmd(t, "init", "phase", "preflight", "--data-dir", foreign, "--secure-port", busy)
	if r.code == 0 || !strings.Contains(r.stderr, "[ERROR Port-"+busy+"]") || !strings.Contains(r.stderr, "[ERROR DirAvailable") {
		t.Errorf("preflight: %s", r)
	}
	r = kastleCmd(t, "init", "phase", "preflight", "--data-dir", foreign, "--secure-port", busy, "--ignore-preflight-errors", "all")
	if r.code != 0 || !strings.Contains(r.stdout, "[WARNING Port-"+busy+"]") {
		t.Errorf("preflight with ignored errors: %s", r)
	}
	// The offline phases run alone, here from a --config file.
	alone := filepath.Join(dir, "alone")
	conf := writeFile(t, "init.yaml", "apiVersion: kastle.io/v1alpha1\nkind: InitConfiguration\ndataDir: "+alone+
		"\nnodeName: cfg-node\nsecurePort: 6443\napiServerCertSANs: [api.example.com]\n", 0o600)
	if r := kastleCmd(t, "init", "phase", "certs", "--config", conf); r.code != 0 {
		t.Fatalf("phase certs: %s", r)
	}
	san := run(t, runOpts{}, env.openssl, "x509", "-in", filepath.Join(alone, "pki", "apiserver.crt"), "-noout", "-ext", "subjectAltName")
	mustContain(t, san.stdout, "DNS:api.example.com")
	etcd := run(t, runOpts{}, env.openssl, "x509", "-in", filepath.Join(alone, "pki", "etcd", "server.crt"), "-noout", "-ext", "subjectAltName")
	mustContain(t, etcd.stdout, "DNS:cfg-node")
	bad := writeFile(t, "bad.yaml", "apiVersion: kastle.io/v1alpha1\nkind: InitConfiguration\nnodeNmae: x\n", 0o600)
	if r := kastleCmd(t, "init", "phase", "preflight", "--config", bad); r.code == 0 || !strings.Contains(r.stderr, "unknown field") {
		t.Errorf("a config with an unknown field: %s", r)
	}
}

// TestInitExternalCA: with ca.crt but no ca.key (an external CA), the
// certs phase signs nothing and accepts the provided certificates, and
// names a missing one instead of issuing it.
func TestInitExternalCA(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "ext")
	for _, phase := range []string{"certs", "kubeconfig"} {
		if r := kastleCmd(t, "init", "phase", phase, "--data-dir", data, "--secure-port", "6443", "--node-name", "cp1"); r.code != 0 {
			t.Fatalf("phase %s: %s", phase, r)
		}
	}
	// The CA's key goes away: it lives with the external CA now.
	if err := os.Remove(filepath.Join(data, "pki", "ca.key")); err != nil {
		t.Fatal(err)
	}
	r := kastleCmd(t, "init", "phase", "certs", "--data-dir", data, "--secure-port", "6443", "--node-name", "cp1")
	if r.code != 0 || !strings.Contains(r.stdout, "External CA mode") {
		t.Fatalf("external CA with every certificate provided: %s", r)
	}
	if err := os.Remove(filepath.Join(data, "pki", "apiserver.crt")); err != nil {
		t.Fatal(err)
	}
	r = kastleCmd(t, "init", "phase", "certs", "--data-dir", data, "--secure-port", "6443", "--node-name", "cp1")
	if r.code == 0 || !strings.Contains(r.stderr, "apiserver.crt") || !strings.Contains(r.stderr, "external CA") {
		t.Errorf("external CA with a certificate missing: %s", r)
	}
	if _, err := os.Stat(filepath.Join(data, "pki", "apiserver.crt")); err == nil {
		t.Errorf("a certificate was issued without the CA key")
	}
}

// TestUploadedCertsExpire: the keys `kastle init --upload-certs` stores
// go away after --certificate-key-ttl (the owning token expires, the token
// cleaner deletes it, the garbage collector its dependent).
func TestUploadedCertsExpire(t *testing.T) {
	t.Parallel()
	_, s, _ := startInit(t, filepath.Join(t.TempDir(), "cp"), "cp1", "--upload-certs", "--certificate-key-ttl", "3s")
	s.mustKubectl(t, "get", "secret", "-n", "kube-system", "kastle-certs")
	eventually(t, 30*time.Second, func() string {
		if r := s.kubectl(t, "get", "secret", "-n", "kube-system", "kastle-certs"); r.code == 0 {
			return "kastle-certs still there"
		}
		return ""
	})
}

package apiserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kastle-dev/kastle/internal/pki"
	"github.com/kastle-dev/kastle/internal/storage/embedded"
)

// testServer is a server under test on an etcd it did not start.
type testServer struct {
	cs   *kubernetes.Clientset
	etcd *clientv3.Client // direct access to the server's etcd
}

// startOnExternalEtcd runs the server on an etcd reached over TLS with a
// client certificate (--etcd-servers, --etcd-cafile/certfile/keyfile,
// --etcd-prefix /kastle-test); adjust may change the configuration.
func startOnExternalEtcd(t *testing.T, adjust func(dir string, cfg *Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.NewSelfSignedCA("etcd-ca", pki.ECDSAP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pair := func(name string, spec pki.CertSpec) (string, string) {
		cert, key, err := ca.IssueKeyPair(spec, pki.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, err := pki.EncodeKeyPEM(key)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".crt", pki.EncodeCertPEM(cert)), write(name+".key", keyPEM)
	}
	caFile := write("ca.crt", pki.EncodeCertPEM(ca.Cert))
	serverCrt, serverKey := pair("server", pki.CertSpec{CommonName: "etcd", IPs: []net.IP{net.ParseIP("127.0.0.1")},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: time.Hour})
	clientCrt, clientKey := pair("client", pki.CertSpec{CommonName: "kube-apiserver-etcd-client",
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: time.Hour})

	etcd, err := embedded.Start(context.Background(), embedded.Config{
		Dir: filepath.Join(dir, "etcd"), UnsafeNoFsync: true,
		ServerCertFile: serverCrt, ServerKeyFile: serverKey, ClientCAFile: caFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = etcd.Close() })

	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(dir, "kastle")
	cfg.SecurePort = 0
	cfg.EtcdServers = []string{etcd.Endpoint()}
	cfg.EtcdCAFile, cfg.EtcdCertFile, cfg.EtcdKeyFile = caFile, clientCrt, clientKey
	cfg.EtcdPrefix = "/kastle-test"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if adjust != nil {
		adjust(dir, &cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, func(_, kubeconfig string) { ready <- kubeconfig }) }()
	var kubeconfig string
	select {
	case kubeconfig = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server ended before ready: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server not ready after 30 s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// JSON bodies: the audit log records request and response objects
	// only in JSON (protobuf bodies are noted as omitted).
	rc.ContentType = "application/json"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := embeddedClientTLS(caFile, clientCrt, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint()}, TLS: tlsCfg, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return &testServer{cs: cs, etcd: cli}
}

// raw returns the value etcd holds at key.
func (s *testServer) raw(t *testing.T, key string) []byte {
	t.Helper()
	resp, err := s.etcd.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("etcd holds %d values at %s", len(resp.Kvs), key)
	}
	return resp.Kvs[0].Value
}

// TestRunOnExternalEtcd writes through the API and finds the object under
// the prefix in the external etcd, as protobuf.
func TestRunOnExternalEtcd(t *testing.T) {
	s := startOnExternalEtcd(t, nil)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "external"}, Data: map[string]string{"k": "v"}}
	if _, err := s.cs.CoreV1().ConfigMaps("default").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := s.raw(t, "/kastle-test/configmaps/default/external"); !bytes.HasPrefix(v, []byte("k8s\x00")) {
		t.Fatalf("etcd value %q is not a protobuf object", v)
	}
}

// TestSecretsEncryptedAtRest configures aesgcm for secrets: the raw etcd
// value is ciphertext with the Kubernetes prefix, the API reads it back,
// and ConfigMaps stay unencrypted.
func TestSecretsEncryptedAtRest(t *testing.T) {
	s := startOnExternalEtcd(t, func(dir string, cfg *Config) {
		p := filepath.Join(dir, "encryption.yaml")
		conf := `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm:
      keys:
      - name: key1
        secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
  - identity: {}
`
		if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.EncryptionProviderConfig = p
	})
	ctx := context.Background()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"password": "hunter2-very-secret"}}
	if _, err := s.cs.CoreV1().Secrets("default").Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	v := s.raw(t, "/kastle-test/secrets/default/s")
	if !bytes.HasPrefix(v, []byte("k8s:enc:aesgcm:v1:key1:")) || bytes.Contains(v, []byte("hunter2")) {
		t.Fatalf("secret stored as %q", v)
	}
	got, err := s.cs.CoreV1().Secrets("default").Get(ctx, "s", metav1.GetOptions{})
	if err != nil || string(got.Data["password"]) != "hunter2-very-secret" {
		t.Fatalf("reading the secret back: %v %v", got, err)
	}
	if _, err := s.cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "plain"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := s.raw(t, "/kastle-test/configmaps/default/plain"); !bytes.HasPrefix(v, []byte("k8s\x00")) {
		t.Fatalf("configmap stored as %q, want plain protobuf", v)
	}
}

// embeddedClientTLS builds the TLS configuration a test uses to read
// etcd directly.
func embeddedClientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// TestAuditLog runs the server with an audit policy logging everything
// at RequestResponse: ConfigMap bodies are logged, Secret bodies never.
func TestAuditLog(t *testing.T) {
	var logPath string
	s := startOnExternalEtcd(t, func(dir string, cfg *Config) {
		policy := filepath.Join(dir, "policy.yaml")
		if err := os.WriteFile(policy, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		logPath = filepath.Join(dir, "audit", "audit.log")
		cfg.AuditPolicyFile, cfg.AuditLogPath = policy, logPath
	})
	ctx := context.Background()
	if _, err := s.cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "audited"}, Data: map[string]string{"visible": "in-the-log"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hidden"}, StringData: map[string]string{"pw": "never-in-the-log"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(logPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", fi.Mode().Perm())
	}
	var sawConfigMap, sawSecret bool
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var ev struct {
			Kind, Level, Stage, Verb string
			User                     struct{ Username string }
			ObjectRef                *struct{ Resource, Name string }
		}
		if err := json.Unmarshal(line, &ev); err != nil || ev.Kind != "Event" {
			t.Fatalf("not an audit event: %s (%v)", line, err)
		}
		if ev.ObjectRef != nil && ev.ObjectRef.Resource == "configmaps" && ev.Verb == "create" && ev.Stage == "ResponseComplete" {
			// The root-CA publisher creates ConfigMaps too, maybe later.
			sawConfigMap = sawConfigMap || bytes.Contains(line, []byte("in-the-log")) && ev.User.Username == "kubernetes-admin"
		}
		if ev.ObjectRef != nil && ev.ObjectRef.Resource == "secrets" && ev.Verb == "create" {
			sawSecret = true
			if ev.Level != "Metadata" {
				t.Errorf("secret event at level %s, want Metadata", ev.Level)
			}
		}
	}
	if bytes.Contains(data, []byte("never-in-the-log")) {
		t.Error("a Secret value reached the audit log")
	}
	if !sawConfigMap || !sawSecret {
		t.Errorf("events missing (configmap with body %v, secret %v):\n%s", sawConfigMap, sawSecret, data)
	}
}

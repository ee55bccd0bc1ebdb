package apiserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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

// TestRunOnExternalEtcd runs the server on an etcd it did not start,
// reached over TLS with a client certificate (--etcd-servers,
// --etcd-cafile/certfile/keyfile, --etcd-prefix), writes through the API
// and finds the object under the prefix in that etcd.
func TestRunOnExternalEtcd(t *testing.T) {
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
	defer etcd.Close()

	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(dir, "kastle")
	cfg.SecurePort = 0
	cfg.EtcdServers = []string{etcd.Endpoint()}
	cfg.EtcdCAFile, cfg.EtcdCertFile, cfg.EtcdKeyFile = caFile, clientCrt, clientKey
	cfg.EtcdPrefix = "/kastle-test"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, func(_, kubeconfig string) { ready <- kubeconfig }) }()
	var kubeconfig string
	select {
	case kubeconfig = <-ready:
	case err := <-done:
		t.Fatalf("server ended before ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server not ready after 30 s")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "external"}, Data: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Read etcd directly: the object is stored under the prefix, as
	// protobuf, with no resourceVersion of its own.
	tlsCfg, err := embeddedClientTLS(caFile, clientCrt, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint()}, TLS: tlsCfg, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(context.Background(), "/kastle-test/configmaps/default/external")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || len(resp.Kvs[0].Value) < 4 || string(resp.Kvs[0].Value[:4]) != "k8s\x00" {
		t.Fatalf("etcd holds %v under the prefix, want one protobuf object", resp.Kvs)
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

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/pki"
)

// fakeKubelet is an HTTPS endpoint on a loopback address standing in for a
// node agent: it requires a client certificate from roots and records who
// called and with which headers.
type fakeKubelet struct {
	mu      sync.Mutex
	callers []string
	auth    []string
	port    int
}

func startFakeKubelet(t *testing.T, addr string, serving tls.Certificate, roots *x509.CertPool) *fakeKubelet {
	t.Helper()
	fk := &fakeKubelet{}
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	fk.port = ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{serving}, ClientCAs: roots, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fk.mu.Lock()
			fk.callers = append(fk.callers, r.TLS.PeerCertificates[0].Subject.CommonName)
			fk.auth = append(fk.auth, r.Header.Get("Authorization"))
			fk.mu.Unlock()
			fmt.Fprintf(w, "kubelet says %s?%s", r.URL.Path, r.URL.RawQuery)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return fk
}

// TestNodeProxy: /api/v1/nodes/<name>/proxy/... reaches the node's agent
// with the API server's kubelet client certificate (never the caller's
// credentials), verifies the agent against the cluster CA, and is
// authorized as nodes/proxy.
func TestNodeProxy(t *testing.T) {
	t.Parallel()
	s := env.shared
	ctx := context.Background()
	admin := s.clientset(t)
	ca := s.serverCA(t)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	issue := func(ca *pki.CA, ip string) tls.Certificate {
		cert, k, err := ca.IssueKeyPair(pki.CertSpec{CommonName: "system:node:x", IPs: []net.IP{net.ParseIP(ip)},
			Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: time.Hour}, "")
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: k}
	}
	good := startFakeKubelet(t, "127.0.0.4", issue(ca, "127.0.0.4"), roots)
	other, err := pki.NewSelfSignedCA("not the cluster", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	impostor := startFakeKubelet(t, "127.0.0.4", issue(other, "127.0.0.4"), roots)

	prefix := nsName(t.Name())
	mkNode := func(name string, port int, addr string) {
		t.Helper()
		n, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = admin.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}) })
		if addr != "" {
			n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: addr}}
		}
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
		if _, err := admin.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkNode(prefix+"-good", good.port, "127.0.0.4")
	mkNode(prefix+"-impostor", impostor.port, "127.0.0.4")
	mkNode(prefix+"-nowhere", good.port, "")

	out := s.mustKubectl(t, "get", "--raw", "/api/v1/nodes/"+prefix+"-good/proxy/healthz?verbose=1")
	if out != "kubelet says /healthz?verbose=1" {
		t.Errorf("proxied answer %q", out)
	}
	out = s.mustKubectl(t, "get", "--raw", fmt.Sprintf("/api/v1/nodes/%s-good:%d/proxy/pods", prefix, good.port))
	mustContain(t, out, "kubelet says /pods")
	good.mu.Lock()
	if len(good.callers) != 2 || good.callers[0] != "kube-apiserver-kubelet-client" || good.auth[0] != "" {
		t.Errorf("kubelet saw callers %v with Authorization %q", good.callers, good.auth)
	}
	good.mu.Unlock()

	for _, tc := range []struct{ path, want string }{
		{"/api/v1/nodes/" + prefix + "-impostor/proxy/healthz", "error trying to reach node"},
		{"/api/v1/nodes/" + prefix + "-nowhere/proxy/healthz", "reports no address"},
		{"/api/v1/nodes/" + prefix + "-ghost/proxy/healthz", "NotFound"},
	} {
		r := s.kubectl(t, "get", "--raw", tc.path)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: %s", tc.path, r)
		}
	}
	impostor.mu.Lock()
	if len(impostor.callers) != 0 {
		t.Errorf("the API server talked to a kubelet it could not verify")
	}
	impostor.mu.Unlock()

	// A node pointing its address at the API server itself gains nothing:
	// the proxy's identity is no administrator there.
	mkNode(prefix+"-loop", s.port, "127.0.0.1")
	r0 := s.kubectl(t, "get", "--raw", "/api/v1/nodes/"+prefix+"-loop/proxy/api/v1/namespaces/kube-system/secrets")
	if r0.code == 0 || !strings.Contains(strings.ToLower(r0.stderr), "forbidden") {
		t.Errorf("proxy redirected to the API server read secrets: %s", r0)
	}
	// nodes/proxy is authorized: a user without it is refused.
	r := s.kubectl(t, "get", "--raw", "/api/v1/nodes/"+prefix+"-good/proxy/healthz", "--as", prefix+"-nobody")
	if r.code == 0 || !strings.Contains(r.stderr, "Forbidden") {
		t.Errorf("user without nodes/proxy: %s", r)
	}
	s.mustKubectl(t, "create", "clusterrole", prefix+"-proxy", "--verb=get", "--resource=nodes/proxy")
	s.mustKubectl(t, "create", "clusterrolebinding", prefix+"-proxy", "--clusterrole="+prefix+"-proxy", "--user="+prefix+"-monitor")
	t.Cleanup(func() {
		s.kubectl(t, "delete", "clusterrolebinding", prefix+"-proxy", "--ignore-not-found")
		s.kubectl(t, "delete", "clusterrole", prefix+"-proxy", "--ignore-not-found")
	})
	eventually(t, 10*time.Second, func() string {
		if r := s.kubectl(t, "get", "--raw", "/api/v1/nodes/"+prefix+"-good/proxy/metrics", "--as", prefix+"-monitor"); r.code != 0 {
			return r.String()
		}
		return ""
	})
}

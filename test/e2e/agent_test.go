package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kastle-dev/kastle/internal/auth/authz/bootstrappolicy"
	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/pki"
)

// agentReadyLine matches the line an agent logs when its API serves.
var agentReadyLine = regexp.MustCompile(`msg="kastle agent ready".* url=(\S+)`)

// agentToken creates a bootstrap token Secret (authentication and
// signing, in kubeadm's default node group, valid for an hour) and the
// ClusterRoleBindings kubeadm adds for TLS bootstrap, and returns the
// token.
func agentToken(t testing.TB, ctx context.Context, admin kubernetes.Interface) bootstraptoken.Token {
	t.Helper()
	tok, err := bootstraptoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	info := bootstraptoken.Info{Token: tok, Usages: []string{bootstraptoken.UsageAuthentication, bootstraptoken.UsageSigning},
		ExtraGroups: []string{DefaultTokenGroupForTest}, Expiration: time.Now().Add(time.Hour)}
	sec, err := info.Secret()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Secrets(bootstraptoken.Namespace).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range bootstrappolicy.NodeBootstrapBindings(DefaultTokenGroupForTest) {
		if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	return tok
}

// writeAgentBootstrapKubeconfig writes dir/bootstrap-kubelet.conf: s's URL and
// CA, and the token.
func writeAgentBootstrapKubeconfig(t testing.TB, s *server, dir string, tok bootstraptoken.Token) {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kastle"] = &clientcmdapi.Cluster{Server: s.url, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["tls-bootstrap-token-user"] = &clientcmdapi.AuthInfo{Token: tok.String()}
	cfg.Contexts["bootstrap"] = &clientcmdapi.Context{Cluster: "kastle", AuthInfo: "tls-bootstrap-token-user"}
	cfg.CurrentContext = "bootstrap"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := clientcmd.WriteToFile(*cfg, filepath.Join(dir, "bootstrap-kubelet.conf")); err != nil {
		t.Fatal(err)
	}
}

// agentProc is one `kastle agent` process.
type agentProc struct {
	*process
	name, ip, dir string
}

// startAgent runs `kastle agent` for node name on ip with a bootstrap
// kubeconfig for tok, stopped when the test ends.
func startAgent(t *testing.T, s *server, tok bootstraptoken.Token, name, ip string, extra ...string) *agentProc {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	writeAgentBootstrapKubeconfig(t, s, dir, tok)
	args := append([]string{"agent", "--data-dir", dir, "--node-name", name, "--node-ip", ip, "--port", "0",
		"--node-status-update-frequency", "2s"}, extra...)
	return &agentProc{process: startProcess(t, args...), name: name, ip: ip, dir: dir}
}

// url is the agent's API URL once its ready line is logged, else "".
func (a *agentProc) url() string {
	if m := agentReadyLine.FindStringSubmatch(a.log.String()); m != nil {
		return m[1]
	}
	return ""
}

// agentHTTP is an HTTPS client for agents that trusts the cluster CA and
// presents cert (nil: no client certificate).
func agentHTTP(t *testing.T, s *server, cert *tls.Certificate) *http.Client {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, Proxy: nil}}
}

// agentClientCert mints a client certificate for cn in orgs from s's CA.
func agentClientCert(t *testing.T, s *server, cn string, orgs ...string) *tls.Certificate {
	t.Helper()
	certPEM, clientKey, err := s.serverCA(t).IssueClientCert(cn, orgs, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	return &pair
}

// agentGet fetches url+path and returns the status and body.
func agentGet(t *testing.T, c *http.Client, url, path string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", url, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// agentNodeReady explains why the named Node is not Ready with the wanted
// addresses, or returns "".
func agentNodeReady(ctx context.Context, cs kubernetes.Interface, name, ip string) string {
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	ready := false
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue && c.Reason == "KubeletReady" {
			ready = true
		}
	}
	if !ready {
		return fmt.Sprintf("node %s not Ready: %+v", name, n.Status.Conditions)
	}
	want := map[corev1.NodeAddressType]string{corev1.NodeInternalIP: ip, corev1.NodeHostName: name}
	for _, a := range n.Status.Addresses {
		if want[a.Type] == a.Address {
			delete(want, a.Type)
		}
	}
	if len(want) > 0 {
		return fmt.Sprintf("node %s addresses %+v lack %v", name, n.Status.Addresses, want)
	}
	if n.Status.Capacity.Cpu().IsZero() || n.Status.Capacity.Memory().IsZero() || n.Status.Capacity.Pods().IsZero() {
		return fmt.Sprintf("node %s capacity %v", name, n.Status.Capacity)
	}
	return ""
}

// agentLeaseRenewTime is the node Lease's renewTime (zero when absent).
func agentLeaseRenewTime(ctx context.Context, cs kubernetes.Interface, name string) (time.Time, error) {
	l, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return time.Time{}, err
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != name || l.Spec.LeaseDurationSeconds == nil || l.Spec.RenewTime == nil {
		return time.Time{}, fmt.Errorf("lease %s: %+v", name, l.Spec)
	}
	return l.Spec.RenewTime.Time, nil
}

// agentCSRsOf lists the CSRs of signer requested by user.
func agentCSRsOf(ctx context.Context, cs kubernetes.Interface, signer, user string) ([]certificatesv1.CertificateSigningRequest, error) {
	list, err := cs.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []certificatesv1.CertificateSigningRequest
	for _, c := range list.Items {
		if c.Spec.SignerName == signer && c.Spec.Username == user {
			out = append(out, c)
		}
	}
	return out, nil
}

// TestAgent is seed 003's node flow with two agents: TLS bootstrap with a
// token (client CSRs auto-approved), kubelet.conf and the certificate
// files, Ready Nodes and renewed Leases, serving CSRs pending until a
// person approves them, then the HTTPS API with authentication (client
// certificate, bearer token, none → 401) and authorization (403 without
// nodes/proxy), and a node's identity confined to its own Node.
func TestAgent(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"))
	ctx := context.Background()
	admin := s.clientset(t)
	tok := agentToken(t, ctx, admin)
	agents := []*agentProc{startAgent(t, s, tok, "n1", "127.0.0.2"), startAgent(t, s, tok, "n2", "127.0.0.3", "--node-labels", "example.com/rack=7")}
	bootstrapUser := "system:bootstrap:" + tok.ID

	// Client certificates: auto-approved and issued, the files written.
	eventually(t, 30*time.Second, func() string {
		csrs, err := agentCSRsOf(ctx, admin, certificatesv1.KubeAPIServerClientKubeletSignerName, bootstrapUser)
		if err != nil {
			return err.Error()
		}
		if len(csrs) != 2 {
			return fmt.Sprintf("%d client CSRs by %s", len(csrs), bootstrapUser)
		}
		for _, c := range csrs {
			if !hasCond(&c, certificatesv1.CertificateApproved) || !issued(&c) || !strings.HasPrefix(c.Name, "node-csr-") {
				return fmt.Sprintf("client CSR %s: %+v", c.Name, c.Status.Conditions)
			}
		}
		return ""
	})
	for _, a := range agents {
		eventually(t, 20*time.Second, func() string {
			if _, err := os.Stat(filepath.Join(a.dir, "kubelet.conf")); err != nil {
				return err.Error()
			}
			return ""
		})
		cur := filepath.Join(a.dir, "pki", "kubelet-client-current.pem")
		target, err := os.Readlink(cur)
		if err != nil || !regexp.MustCompile(`^kubelet-client-\d{4}(-\d\d){5}\.pem$`).MatchString(target) {
			t.Errorf("%s: symlink to %q (%v)", cur, target, err)
		}
		fi, err := os.Stat(cur)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v)", cur, fi.Mode(), err)
		}
		kc, err := clientcmd.LoadFromFile(filepath.Join(a.dir, "kubelet.conf"))
		if err != nil {
			t.Fatal(err)
		}
		user := kc.AuthInfos[kc.Contexts[kc.CurrentContext].AuthInfo]
		if user.ClientCertificate != cur || user.ClientKey != cur {
			t.Errorf("kubelet.conf user: cert %q key %q, want %q", user.ClientCertificate, user.ClientKey, cur)
		}
		data, _ := os.ReadFile(cur)
		certs, err := pki.ParseCertsPEM(data)
		if err != nil || certs[0].Subject.CommonName != "system:node:"+a.name || certs[0].Subject.Organization[0] != "system:nodes" {
			t.Errorf("%s: %v %v", cur, err, certs)
		}
	}

	// Nodes Ready with their addresses, labels and renewed Leases.
	for _, a := range agents {
		eventually(t, 20*time.Second, func() string { return agentNodeReady(ctx, admin, a.name, a.ip) })
		first, err := agentLeaseRenewTime(ctx, admin, a.name)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 25*time.Second, func() string {
			if now, err := agentLeaseRenewTime(ctx, admin, a.name); err != nil || !now.After(first) {
				return fmt.Sprintf("lease %s not renewed since %s (%v)", a.name, first, err)
			}
			return ""
		})
	}
	n2, err := admin.CoreV1().Nodes().Get(ctx, "n2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n2.Labels["example.com/rack"] != "7" || n2.Labels["kubernetes.io/hostname"] != "n2" || n2.Labels["kubernetes.io/os"] == "" {
		t.Errorf("n2 labels %v", n2.Labels)
	}

	// Serving CSRs wait for a person; nothing listens meanwhile.
	var serving []string
	for _, a := range agents {
		eventually(t, 20*time.Second, func() string {
			csrs, err := agentCSRsOf(ctx, admin, certificatesv1.KubeletServingSignerName, "system:node:"+a.name)
			if err != nil || len(csrs) != 1 {
				return fmt.Sprintf("serving CSRs of %s: %d (%v)", a.name, len(csrs), err)
			}
			serving = append(serving, csrs[0].Name)
			return ""
		})
	}
	time.Sleep(time.Second)
	for i, a := range agents {
		c, err := admin.CertificatesV1().CertificateSigningRequests().Get(ctx, serving[i], metav1.GetOptions{})
		if err != nil || len(c.Status.Conditions) != 0 {
			t.Errorf("serving CSR %s should be pending: %v %+v", serving[i], err, c.Status.Conditions)
		}
		if u := a.url(); u != "" {
			t.Errorf("%s serves at %s before its serving certificate is approved", a.name, u)
		}
	}
	s.mustKubectl(t, append([]string{"certificate", "approve"}, serving...)...)
	for _, a := range agents {
		eventually(t, 20*time.Second, func() string {
			if a.url() == "" {
				return a.name + " not serving"
			}
			return ""
		})
		if want := "https://" + a.ip + ":"; !strings.HasPrefix(a.url(), want) {
			t.Errorf("%s serves at %s, want %s*", a.name, a.url(), want)
		}
	}
	n1URL := agents[0].url()
	// The Node tells where its API listens.
	eventually(t, 10*time.Second, func() string {
		n, err := admin.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if port := n.Status.DaemonEndpoints.KubeletEndpoint.Port; !strings.HasSuffix(n1URL, fmt.Sprintf(":%d", port)) {
			return fmt.Sprintf("node n1 reports port %d, serves at %s", port, n1URL)
		}
		return ""
	})

	// curl with the admin's certificate, as an operator would.
	creds := extractAdmin(t, s)
	r := run(t, runOpts{}, env.curl, "-sS", "--noproxy", "*", "--max-time", "10", "--cacert", creds.ca, "--cert", creds.cert, "--key", creds.key,
		"-w", "\n%{http_code}", n1URL+"/healthz")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "ok\n200") {
		t.Errorf("curl /healthz as admin: %s", r)
	}

	// A pod bound to n1 is listed by n1's /pods.
	ns := s.namespace(t)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: ns},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
	eventually(t, 10*time.Second, func() string { // the namespace's default ServiceAccount may still be on its way
		if _, err := admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err.Error()
		}
		return ""
	})
	adminPair, err := tls.LoadX509KeyPair(creds.cert, creds.key)
	if err != nil {
		t.Fatal(err)
	}
	adminHTTP := agentHTTP(t, s, &adminPair)
	code, body := agentGet(t, adminHTTP, n1URL, "/pods")
	var pods corev1.PodList
	if code != 200 || json.Unmarshal([]byte(body), &pods) != nil || pods.Kind != "PodList" || len(pods.Items) != 1 || pods.Items[0].Name != "p1" {
		t.Errorf("/pods as admin: %d %.300s", code, body)
	}
	if code, body := agentGet(t, adminHTTP, agents[1].url(), "/pods"); code != 200 || strings.Contains(body, `"p1"`) {
		t.Errorf("n2 /pods: %d %.300s", code, body)
	}
	for _, p := range []string{"/configz", "/metrics"} {
		code, body := agentGet(t, adminHTTP, n1URL, p)
		if code != 200 {
			t.Errorf("%s as admin: %d %.200s", p, code, body)
		}
	}
	if _, body := agentGet(t, adminHTTP, n1URL, "/configz"); !strings.Contains(body, `"nodeName":"n1"`) {
		t.Errorf("/configz: %.300s", body)
	}
	if _, body := agentGet(t, adminHTTP, n1URL, "/metrics"); !strings.Contains(body, "kastle_agent_certificate_expiration_timestamp_seconds") {
		t.Errorf("/metrics lacks the agent's metrics: %.300s", body)
	}

	// No credentials: 401. A user without nodes/proxy: 403; with it: 200.
	if code, _ := agentGet(t, agentHTTP(t, s, nil), n1URL, "/healthz"); code != 401 {
		t.Errorf("anonymous /healthz: %d, want 401", code)
	}
	viewer := agentHTTP(t, s, agentClientCert(t, s, "e2e-agent-viewer", "e2e-viewers"))
	if code, body := agentGet(t, viewer, n1URL, "/pods"); code != 403 || !strings.Contains(body, "subresource(s)=[proxy]") {
		t.Errorf("viewer /pods: %d %s, want 403", code, body)
	}
	if code, _ := agentGet(t, viewer, n1URL, "/metrics"); code != 403 {
		t.Errorf("viewer /metrics: %d, want 403", code)
	}
	// Another user whose group may read nodes/metrics (a fresh user: denials
	// are cached for 30s, as kubelet's are).
	s.mustKubectl(t, "create", "clusterrole", "e2e-node-metrics", "--verb=get", "--resource=nodes/metrics")
	s.mustKubectl(t, "create", "clusterrolebinding", "e2e-node-metrics", "--clusterrole=e2e-node-metrics", "--group=e2e-scrapers")
	scraper := agentHTTP(t, s, agentClientCert(t, s, "e2e-agent-scraper", "e2e-scrapers"))
	eventually(t, 10*time.Second, func() string {
		if code, _ := agentGet(t, scraper, n1URL, "/metrics"); code != 200 {
			return fmt.Sprintf("scraper with nodes/metrics: /metrics %d", code)
		}
		return ""
	})
	if code, _ := agentGet(t, scraper, n1URL, "/healthz"); code != 403 {
		t.Errorf("scraper with nodes/metrics only: /healthz %d, want 403", code)
	}
	// A certificate from another CA is refused at the handshake or 401.
	other, err := pki.NewSelfSignedCA("other-ca", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ocPEM, okPEM, err := other.IssueClientCert("kubernetes-admin", []string{"system:masters"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := tls.X509KeyPair(ocPEM, okPEM)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := agentHTTP(t, s, &forged).Get(n1URL + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("foreign CA certificate: %d", resp.StatusCode)
		}
	}

	// Bearer tokens are checked with a TokenReview: a ServiceAccount
	// token is 403 unless the account may proxy to nodes.
	s.mustKubectl(t, "create", "serviceaccount", "prober", "-n", ns)
	s.mustKubectl(t, "create", "serviceaccount", "stranger", "-n", ns)
	s.mustKubectl(t, "create", "clusterrole", "e2e-node-proxy", "--verb=get", "--resource=nodes/proxy")
	s.mustKubectl(t, "create", "clusterrolebinding", "e2e-node-proxy", "--clusterrole=e2e-node-proxy", "--serviceaccount="+ns+":prober")
	anon := agentHTTP(t, s, nil)
	stranger := strings.TrimSpace(s.mustKubectl(t, "create", "token", "stranger", "-n", ns))
	if code, _ := agentGet(t, anon, n1URL, "/healthz", "Authorization", "Bearer "+stranger); code != 403 {
		t.Errorf("service account without nodes/proxy: %d, want 403", code)
	}
	if code, _ := agentGet(t, anon, n1URL, "/healthz", "Authorization", "Bearer not-a-token"); code != 401 {
		t.Errorf("bad token: %d, want 401", code)
	}
	prober := strings.TrimSpace(s.mustKubectl(t, "create", "token", "prober", "-n", ns))
	eventually(t, 10*time.Second, func() string {
		if code, _ := agentGet(t, anon, n1URL, "/healthz", "Authorization", "Bearer "+prober); code != 200 {
			return fmt.Sprintf("service account with nodes/proxy: %d", code)
		}
		return ""
	})

	// n1's identity may write its own Node, not n2's.
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(agents[0].dir, "kubelet.conf"))
	if err != nil {
		t.Fatal(err)
	}
	n1cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"metadata":{"labels":{"example.com/owned":"yes"}}}`)
	if _, err := n1cs.CoreV1().Nodes().Patch(ctx, "n2", types.MergePatchType, patch, metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("n1 patching node n2: %v, want 403", err)
	}
	if _, err := n1cs.CoreV1().Nodes().Patch(ctx, "n2", types.MergePatchType, []byte(`{"status":{"conditions":[]}}`), metav1.PatchOptions{}, "status"); !apierrors.IsForbidden(err) {
		t.Errorf("n1 patching node n2's status: %v, want 403", err)
	}
	if err := n1cs.CoreV1().Nodes().Delete(ctx, "n2", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("n1 deleting node n2: %v, want 403", err)
	}
	if _, err := n1cs.CoreV1().Nodes().Patch(ctx, "n1", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Errorf("n1 patching itself: %v", err)
	}
	for _, a := range agents {
		if strings.Contains(a.log.String(), "level=ERROR") {
			t.Errorf("%s logged errors:\n%s", a.name, a.log.tail(4<<10))
		}
		if strings.Contains(a.log.String(), tok.Secret) {
			t.Errorf("%s logged the bootstrap token secret", a.name)
		}
	}
}

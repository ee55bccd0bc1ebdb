package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/pki"
)

// stopAgent sends SIGTERM and waits for a clean exit.
func stopAgent(t *testing.T, a *agentProc) {
	t.Helper()
	a.signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(stopTimeout):
		t.Fatalf("%s did not stop on SIGTERM:\n%s", a.name, a.log.tail(4<<10))
	}
	if a.cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("%s exited with %d:\n%s", a.name, a.cmd.ProcessState.ExitCode(), a.log.tail(4<<10))
	}
}

// TestAgentRestart: a restarted agent reuses its kubelet.conf and serving
// certificate (no new CSR); one whose client certificate has expired
// bootstraps again instead of failing; one given another node's data dir
// refuses to start.
func TestAgentRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"))
	ctx := context.Background()
	admin := s.clientset(t)
	tok := agentToken(t, ctx, admin)
	a := startAgent(t, s, tok, "n1", "127.0.0.2")
	eventually(t, 20*time.Second, func() string { return agentNodeReady(ctx, admin, "n1", "127.0.0.2") })
	var servingCSR string
	eventually(t, 20*time.Second, func() string {
		csrs, err := agentCSRsOf(ctx, admin, certificatesv1.KubeletServingSignerName, "system:node:n1")
		if err != nil || len(csrs) != 1 {
			return "no serving CSR yet"
		}
		servingCSR = csrs[0].Name
		return ""
	})
	s.mustKubectl(t, "certificate", "approve", servingCSR)
	eventually(t, 20*time.Second, func() string {
		if a.url() == "" {
			return "not serving"
		}
		return ""
	})
	stopAgent(t, a)
	countCSRs := func() int {
		list, err := admin.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}
	before := countCSRs()

	// Same data dir: no new requests, serving at once.
	b := &agentProc{process: startProcess(t, "agent", "--data-dir", a.dir, "--node-name", "n1", "--node-ip", "127.0.0.2", "--port", "0"),
		name: "n1", ip: "127.0.0.2", dir: a.dir}
	eventually(t, 20*time.Second, func() string {
		if b.url() == "" {
			return "restarted agent not serving"
		}
		return ""
	})
	if strings.Contains(b.log.String(), "TLS bootstrap") || countCSRs() != before {
		t.Errorf("restart with a valid kubelet.conf made new requests:\n%s", b.log)
	}
	stopAgent(t, b)

	// The client certificate expired while the agent was down.
	caPEM, _ := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.crt"))
	caKey, _ := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.key"))
	cas, err := pki.ParseCertsPEM(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.ParseKeyPEM(caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca := &pki.CA{Cert: cas[0], Key: key, Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }}
	certPEM, keyPEM, err := ca.IssueClientCert("system:node:n1", []string{"system:nodes"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	current := filepath.Join(a.dir, "pki", "kubelet-client-current.pem")
	if err := os.WriteFile(current, append(certPEM, keyPEM...), 0o600); err != nil { // follows the symlink
		t.Fatal(err)
	}
	c := &agentProc{process: startProcess(t, "agent", "--data-dir", a.dir, "--node-name", "n1", "--node-ip", "127.0.0.2", "--port", "0"),
		name: "n1", ip: "127.0.0.2", dir: a.dir}
	eventually(t, 20*time.Second, func() string {
		if c.url() == "" {
			return "agent with an expired certificate not serving"
		}
		return ""
	})
	mustContain(t, c.log.String(), "starting TLS bootstrap", "expired")
	data, err := os.ReadFile(current)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := pki.ParseCertsPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.VerifyClientCert(fresh, ca.Pool(), time.Now()); err != nil {
		t.Errorf("the new client certificate: %v", err)
	}
	stopAgent(t, c)

	// Another node's data dir: refused, naming the identity.
	r := run(t, runOpts{}, env.kastle, "agent", "--data-dir", a.dir, "--node-name", "n9", "--node-ip", "127.0.0.2", "--port", "0")
	if r.code == 0 || !strings.Contains(r.stderr, `holds the identity "system:node:n1"`) {
		t.Errorf("agent on another node's data dir: %s", r)
	}

	// A token whose group may create CSRs but has no auto-approval: the
	// request waits for a person, who denies it; the agent exits saying so.
	manual, err := bootstraptoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	sec, err := bootstraptoken.Info{Token: manual, Usages: []string{bootstraptoken.UsageAuthentication},
		ExtraGroups: []string{"system:bootstrappers:e2e-manual"}, Expiration: time.Now().Add(time.Hour)}.Secret()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Secrets(bootstraptoken.Namespace).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.mustKubectl(t, "create", "clusterrolebinding", "e2e-manual-bootstrap", "--clusterrole=system:node-bootstrapper", "--group=system:bootstrappers:e2e-manual")
	d := startAgent(t, s, manual, "n5", "127.0.0.5")
	var pending string
	eventually(t, 20*time.Second, func() string {
		csrs, err := agentCSRsOf(ctx, admin, certificatesv1.KubeAPIServerClientKubeletSignerName, "system:bootstrap:"+manual.ID)
		if err != nil || len(csrs) != 1 {
			return "no client CSR from the manual token"
		}
		if len(csrs[0].Status.Conditions) != 0 {
			t.Fatalf("CSR %s without auto-approval rights: %+v", csrs[0].Name, csrs[0].Status.Conditions)
		}
		pending = csrs[0].Name
		return ""
	})
	s.mustKubectl(t, "certificate", "deny", pending)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("agent still running after its CSR was denied:\n%s", d.log)
	}
	if code := d.cmd.ProcessState.ExitCode(); code == 0 || !strings.Contains(d.log.String(), pending+" was denied") {
		t.Errorf("agent with a denied CSR: exit %d\n%s", code, d.log)
	}
	if _, err := os.Stat(filepath.Join(d.dir, "kubelet.conf")); err == nil {
		t.Error("kubelet.conf written without a certificate")
	}
}

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
)

// TestInitJoinAgents is issue 7's whole flow with real processes on
// loopback: `kastle init`, then two nodes run the printed `kastle join`
// (127.0.0.2 and 127.0.0.3), which discovers the cluster and becomes the
// node agent; both Nodes turn Ready with client certificates
// auto-approved, their serving CSRs wait for a person, and once approved
// `kubectl get --raw /api/v1/nodes/N/proxy/healthz` reaches each agent.
func TestInitJoinAgents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "cp")
	_, s, join := startInit(t, data, "cp")
	m := append([]string{""}, join...)
	ctx := context.Background()
	admin := s.clientset(t)
	nodes := map[string]string{"w1": "127.0.0.2", "w2": "127.0.0.3"}
	for name, ip := range nodes {
		startProcess(t, "join", m[1], "--token", m[2], "--discovery-token-ca-cert-hash", m[3],
			"--data-dir", filepath.Join(dir, name), "--node-name", name, "--node-ip", ip, "--port", "0")
	}
	for name, ip := range nodes {
		eventually(t, 90*time.Second, func() string { return agentNodeReady(ctx, admin, name, ip) })
	}
	tokenUser := "system:bootstrap:" + strings.SplitN(m[2], ".", 2)[0]
	client, err := agentCSRsOf(ctx, admin, certificatesv1.KubeAPIServerClientKubeletSignerName, tokenUser)
	if err != nil || len(client) != 2 {
		t.Fatalf("client CSRs of the bootstrap token: %d %v", len(client), err)
	}
	for _, c := range client {
		if !hasCond(&c, certificatesv1.CertificateApproved) || !issued(&c) {
			t.Errorf("client CSR %s: %+v", c.Name, c.Status.Conditions)
		}
	}
	// Serving CSRs stay pending (seed 003: approved by hand) ...
	serving := map[string]string{}
	for name := range nodes {
		eventually(t, 30*time.Second, func() string {
			list, err := agentCSRsOf(ctx, admin, certificatesv1.KubeletServingSignerName, "system:node:"+name)
			if err != nil || len(list) == 0 {
				return "no serving CSR from " + name
			}
			if len(list[0].Status.Conditions) != 0 {
				return "serving CSR of " + name + " was decided without a person"
			}
			serving[name] = list[0].Name
			return ""
		})
		if r := s.kubectl(t, "get", "--raw", "/api/v1/nodes/"+name+"/proxy/healthz"); r.code == 0 {
			t.Errorf("%s serves before its serving certificate is approved", name)
		}
	}
	// ... until approved; then the API server reaches each agent.
	for name, csr := range serving {
		s.mustKubectl(t, "certificate", "approve", csr)
		eventually(t, 30*time.Second, func() string {
			r := s.kubectl(t, "get", "--raw", "/api/v1/nodes/"+name+"/proxy/healthz")
			if r.code != 0 || strings.TrimSpace(r.stdout) != "ok" {
				return "proxy to " + name + ": " + r.String()
			}
			return ""
		})
	}
	out := s.mustKubectl(t, "get", "--raw", "/api/v1/nodes/w1/proxy/configz")
	mustContain(t, out, "w1")
}

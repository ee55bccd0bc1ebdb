package e2e

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKubernetesServiceShared: every server keeps default/kubernetes on the
// first address of the default service range.
func TestKubernetesServiceShared(t *testing.T) {
	s := env.shared
	eventually(t, 20*time.Second, func() string {
		r := s.kubectl(t, "get", "service", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP} {.spec.ports[0].name} {.spec.ports[0].port} {.spec.ports[0].targetPort}")
		want := fmt.Sprintf("10.96.0.1 https 443 %d", s.port)
		if r.code != 0 || r.stdout != want {
			return fmt.Sprintf("got %q (%s), want %q", r.stdout, r.stderr, want)
		}
		return ""
	})
}

// TestServiceAllocation: cluster IPs and node ports come from the configured
// ranges through kubectl, clashes are refused with 422, deletion releases,
// and a restart keeps every allocation.
func TestServiceAllocation(t *testing.T) {
	s := startServer(t, t.TempDir(), "--advertise-address", "192.0.2.10",
		"--service-cluster-ip-range", "10.100.0.0/24", "--service-node-port-range", "31000-31099")
	_, cidr, _ := net.ParseCIDR("10.100.0.0/24")

	// The kubernetes Service and its endpoints (192.0.2.10 is a
	// documentation address: it is only written, never dialled).
	eventually(t, 20*time.Second, func() string {
		ip := s.kubectl(t, "get", "svc", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP}")
		ep := s.kubectl(t, "get", "endpoints", "kubernetes", "-n", "default", "-o", "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}")
		if ip.stdout != "10.100.0.1" || ep.stdout != fmt.Sprintf("192.0.2.10:%d", s.port) {
			return fmt.Sprintf("service %q endpoints %q", ip.combined(), ep.combined())
		}
		return ""
	})

	ns := s.namespace(t)
	s.mustKubectl(t, "create", "service", "clusterip", "web", "-n", ns, "--tcp=80:8080")
	webIP := s.mustKubectl(t, "get", "svc", "web", "-n", ns, "-o", "jsonpath={.spec.clusterIP}")
	if ip := net.ParseIP(webIP); ip == nil || !cidr.Contains(ip) || webIP == "10.100.0.1" {
		t.Fatalf("web got cluster IP %q", webIP)
	}

	s.mustKubectl(t, "create", "service", "nodeport", "np", "-n", ns, "--tcp=80:8080", "--node-port=31050")
	mustContain(t, s.mustKubectl(t, "get", "svc", "np", "-n", ns), "80:31050/TCP")
	r := s.kubectl(t, "create", "service", "nodeport", "np2", "-n", ns, "--tcp=80:8080", "--node-port=31050")
	if r.code == 0 {
		t.Fatal("a second service got node port 31050")
	}
	mustContain(t, r.stderr, `Service "np2" is invalid`, "spec.ports[0].nodePort", "provided port is already allocated")
	r = s.kubectl(t, "create", "service", "nodeport", "np3", "-n", ns, "--tcp=80:8080", "--node-port=30000")
	mustContain(t, r.stderr, "The range of valid ports is 31000-31099")

	s.mustKubectl(t, "create", "service", "nodeport", "dyn", "-n", ns, "--tcp=80:8080")
	port, err := strconv.Atoi(s.mustKubectl(t, "get", "svc", "dyn", "-n", ns, "-o", "jsonpath={.spec.ports[0].nodePort}"))
	if err != nil || port < 31000 || port > 31099 || port == 31050 {
		t.Fatalf("dyn got node port %d (%v)", port, err)
	}

	// A requested cluster IP, and the clash.
	svc := func(name, ip string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: %s}\nspec:\n  clusterIP: %s\n  ports: [{port: 80}]\n", name, ns, ip)
	}
	s.mustKubectlWith(t, runOpts{stdin: svc("fixed", "10.100.0.77")}, "create", "-f", "-")
	r = s.kubectlWith(t, runOpts{stdin: svc("fixed2", "10.100.0.77")}, "create", "-f", "-")
	mustContain(t, r.stderr, "failed to allocate IP 10.100.0.77: provided IP is already allocated")
	r = s.kubectlWith(t, runOpts{stdin: svc("far", "10.200.0.5")}, "create", "-f", "-")
	mustContain(t, r.stderr, "The range of valid IPs is 10.100.0.0/24")

	// Deleting releases the node port and the address.
	s.mustKubectl(t, "delete", "svc", "np", "fixed", "-n", ns)
	s.mustKubectl(t, "create", "service", "nodeport", "np2", "-n", ns, "--tcp=80:8080", "--node-port=31050")
	s.mustKubectlWith(t, runOpts{stdin: svc("fixed2", "10.100.0.77")}, "create", "-f", "-")

	// After a restart every allocation is still held.
	if err := s.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s = startServerOnPort(t, s.dataDir, s.port, "--advertise-address", "192.0.2.10",
		"--service-cluster-ip-range", "10.100.0.0/24", "--service-node-port-range", "31000-31099")
	r = s.kubectlWith(t, runOpts{stdin: svc("after", webIP)}, "create", "-f", "-")
	mustContain(t, r.stderr, "provided IP is already allocated")
	r = s.kubectl(t, "create", "service", "nodeport", "np4", "-n", ns, "--tcp=80:8080", "--node-port="+strconv.Itoa(port))
	mustContain(t, r.stderr, "provided port is already allocated")
	out := s.mustKubectl(t, "get", "svc", "-n", ns, "-o", "jsonpath={range .items[*]}{.spec.clusterIP}{\"\\n\"}{end}")
	seen := map[string]bool{}
	for _, ip := range strings.Fields(out) {
		if seen[ip] {
			t.Errorf("cluster IP %s held twice", ip)
		}
		seen[ip] = true
	}
}

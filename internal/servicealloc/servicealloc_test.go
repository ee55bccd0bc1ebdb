package servicealloc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/registry/registrytest"
	"github.com/kastle-dev/kastle/internal/storage/etcdtest"
)

var testClient *clientv3.Client

func TestMain(m *testing.M) { os.Exit(etcdtest.Run(m, &testClient)) }

// fixture is a Service store whose writes go through an Allocator, as in
// the server.
type fixture struct {
	t     *testing.T
	a     *Allocator
	store *registry.Store
}

func newFixture(t *testing.T, cidrs, ports string) *fixture {
	t.Helper()
	nets, err := ParseServiceCIDRs(cidrs)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := ParsePortRange(ports)
	if err != nil {
		t.Fatal(err)
	}
	st := registrytest.NewStore(t, testClient, "", "services")
	a, err := New(Config{Client: testClient, Prefix: "/test/" + t.Name(), ServiceCIDRs: nets, NodePorts: pr,
		ServiceKey: st.Key, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	st.Hooks = a
	return &fixture{t: t, a: a, store: st}
}

func service(name string, mutate ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func (f *fixture) create(s *corev1.Service) (*corev1.Service, error) {
	out, err := f.store.Create(context.Background(), "default", s, registry.WriteOptions{FieldManager: "test"})
	if err != nil {
		return nil, err
	}
	return out.(*corev1.Service), nil
}

func (f *fixture) mustCreate(s *corev1.Service) *corev1.Service {
	f.t.Helper()
	out, err := f.create(s)
	if err != nil {
		f.t.Fatalf("creating %s: %v", s.Name, err)
	}
	return out
}

func (f *fixture) update(name string, fn func(*corev1.Service)) (*corev1.Service, error) {
	out, err := f.store.Update(context.Background(), "default", name, func(cur runtime.Object) (runtime.Object, error) {
		s := cur.(*corev1.Service)
		fn(s)
		return s, nil
	}, registry.WriteOptions{FieldManager: "test"})
	if err != nil {
		return nil, err
	}
	return out.(*corev1.Service), nil
}

func (f *fixture) delete(name string) {
	f.t.Helper()
	if _, err := f.store.Delete(context.Background(), "default", name, nil, false); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) ipHolder(ip string) string {
	f.t.Helper()
	h, err := f.a.ipClaims.holder(context.Background(), ip)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func (f *fixture) portHolder(port int32) string {
	f.t.Helper()
	h, err := f.a.ports.claims.holder(context.Background(), fmt.Sprint(port))
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func wantInvalid(t *testing.T, err error, parts ...string) {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want 422 Invalid, got %v", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
}

func TestParseRanges(t *testing.T) {
	for _, tc := range []struct {
		in, err string
		n       int
	}{
		{in: "", n: 1},
		{in: "10.96.0.0/12", n: 1},
		{in: "10.96.0.0/12,fd00::/108", n: 2},
		{in: "10.0.0.0/8", err: "too large"},
		{in: "fd00::/64", err: "too large"},
		{in: "10.96.0.1/12", err: "not a network address"},
		{in: "10.96.0.0/16,10.97.0.0/16", err: "one IPv4 and one IPv6"},
		{in: "10.96.0.0/16,fd00::/112,fd01::/112", err: "at most two"},
		{in: "bogus", err: "not a CIDR"},
		{in: "10.0.0.0/31", err: "too small"},
	} {
		nets, err := ParseServiceCIDRs(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: want error with %q, got %v", tc.in, tc.err, err)
			}
			continue
		}
		if err != nil || len(nets) != tc.n {
			t.Errorf("%q: got %v, %v", tc.in, nets, err)
		}
	}
	for _, tc := range []struct {
		in   string
		want PortRange
		bad  bool
	}{
		{in: "", want: PortRange{30000, 2768}},
		{in: "30000-32767", want: PortRange{30000, 2768}},
		{in: "30000+100", want: PortRange{30000, 100}},
		{in: "30500", want: PortRange{30500, 1}},
		{in: "32767-30000", bad: true},
		{in: "0-10", bad: true},
		{in: "30000-70000", bad: true},
		{in: "x-y", bad: true},
	} {
		got, err := ParsePortRange(tc.in)
		if tc.bad != (err != nil) || (!tc.bad && got != tc.want) {
			t.Errorf("%q: got %v, %v", tc.in, got, err)
		}
	}
}

func TestIPRangeOffsets(t *testing.T) {
	nets, _ := ParseServiceCIDRs("10.96.0.0/28,fd00::/124")
	v4, v6 := newIPRange(nets[0]), newIPRange(nets[1])
	if v4.size != 14 || v6.size != 15 {
		t.Fatalf("sizes %d %d", v4.size, v6.size)
	}
	if got := v4.ip(1).String(); got != "10.96.0.1" {
		t.Errorf("first v4 %s", got)
	}
	if got := v4.ip(14).String(); got != "10.96.0.14" {
		t.Errorf("last v4 %s", got)
	}
	for ip, ok := range map[string]bool{"10.96.0.0": false, "10.96.0.15": false, "10.96.0.7": true, "10.97.0.1": false} {
		if _, got := v4.offset(net.ParseIP(ip)); got != ok {
			t.Errorf("offset(%s) allocatable=%v", ip, got)
		}
	}
	if got := v6.ip(15).String(); got != "fd00::f" {
		t.Errorf("last v6 %s", got)
	}
	if o, ok := v6.offset(net.ParseIP("fd00::a")); !ok || o != 10 {
		t.Errorf("fd00::a offset %d %v", o, ok)
	}
}

func TestClusterIPs(t *testing.T) {
	f := newFixture(t, "10.96.0.0/16", "")
	s := f.mustCreate(service("dynamic"))
	ip := net.ParseIP(s.Spec.ClusterIP)
	r := f.a.ranges[0]
	off, ok := r.offset(ip)
	if !ok || off <= staticBand(r.size) {
		t.Errorf("dynamic IP %s (offset %d) should come from the upper band", s.Spec.ClusterIP, off)
	}
	if len(s.Spec.ClusterIPs) != 1 || s.Spec.ClusterIPs[0] != s.Spec.ClusterIP || len(s.Spec.IPFamilies) != 1 || s.Spec.IPFamilies[0] != corev1.IPv4Protocol {
		t.Errorf("spec %+v", s.Spec)
	}
	if h := f.ipHolder(s.Spec.ClusterIP); !strings.HasPrefix(h, "default/dynamic/") {
		t.Errorf("claim holder %q", h)
	}

	f.mustCreate(service("static", func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.10" }))
	_, err := f.create(service("taken", func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.10" }))
	wantInvalid(t, err, "spec.clusterIPs", "failed to allocate IP 10.96.0.10: provided IP is already allocated")
	_, err = f.create(service("outside", func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.5" }))
	wantInvalid(t, err, "not in the valid range. The range of valid IPs is 10.96.0.0/16")
	_, err = f.create(service("v6", func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }))
	wantInvalid(t, err, "spec.ipFamilies[0]", "not configured on this cluster")
	dual := corev1.IPFamilyPolicyRequireDualStack
	_, err = f.create(service("dual", func(s *corev1.Service) { s.Spec.IPFamilyPolicy = &dual }))
	wantInvalid(t, err, "this cluster is not configured for dual-stack services")

	// An update that omits the IP keeps it; changing it is refused.
	up, err := f.update("static", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil })
	if err != nil || up.Spec.ClusterIP != "10.96.0.10" {
		t.Fatalf("update: %v %v", up, err)
	}
	_, err = f.update("static", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.11", nil })
	wantInvalid(t, err)
	if h := f.ipHolder("10.96.0.11"); h != "" {
		t.Errorf("a refused update kept its claim on 10.96.0.11: %q", h)
	}

	// Delete releases: the address can be requested again.
	f.delete("static")
	if h := f.ipHolder("10.96.0.10"); h != "" {
		t.Errorf("deleted service still holds 10.96.0.10: %q", h)
	}
	f.mustCreate(service("again", func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.10" }))

	// A create refused after allocation (invalid selector) holds nothing.
	_, err = f.create(service("bad", func(s *corev1.Service) {
		s.Spec.ClusterIP = "10.96.0.20"
		s.Spec.Selector = map[string]string{"-bad-": "x"}
	}))
	wantInvalid(t, err, "spec.selector")
	if h := f.ipHolder("10.96.0.20"); h != "" {
		t.Errorf("a refused create kept its claim: %q", h)
	}

	// Headless and ExternalName services hold no IP.
	h := f.mustCreate(service("headless", func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }))
	if h.Spec.ClusterIPs[0] != corev1.ClusterIPNone || len(h.Spec.IPFamilies) != 1 {
		t.Errorf("headless %+v", h.Spec)
	}
	x := f.mustCreate(service("ext", func(s *corev1.Service) {
		s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "example.com"
	}))
	if x.Spec.ClusterIP != "" {
		t.Errorf("ExternalName got %q", x.Spec.ClusterIP)
	}

	// A change to ExternalName gives the IP back once stored.
	d := f.mustCreate(service("to-ext", func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.30" }))
	if _, err := f.update(d.Name, func(s *corev1.Service) {
		s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "example.com"
	}); err != nil {
		t.Fatal(err)
	}
	if h := f.ipHolder("10.96.0.30"); h != "" {
		t.Errorf("ExternalName still holds its old IP: %q", h)
	}
}

func TestDryRunClaimsNothing(t *testing.T) {
	f := newFixture(t, "10.96.0.0/24", "")
	out, err := f.store.Create(context.Background(), "default", service("dry", func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
	}), registry.WriteOptions{DryRun: true, FieldManager: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s := out.(*corev1.Service)
	if s.Spec.ClusterIP == "" || s.Spec.Ports[0].NodePort == 0 {
		t.Fatalf("dry run should show what would be allocated: %+v", s.Spec)
	}
	if h := f.ipHolder(s.Spec.ClusterIP); h != "" {
		t.Errorf("dry run claimed %s", s.Spec.ClusterIP)
	}
	if h := f.portHolder(s.Spec.Ports[0].NodePort); h != "" {
		t.Errorf("dry run claimed port %d", s.Spec.Ports[0].NodePort)
	}
}

func TestDualStack(t *testing.T) {
	f := newFixture(t, "10.96.0.0/16,fd00::/112", "")
	prefer := corev1.IPFamilyPolicyPreferDualStack
	s := f.mustCreate(service("dual", func(s *corev1.Service) { s.Spec.IPFamilyPolicy = &prefer }))
	if len(s.Spec.ClusterIPs) != 2 || net.ParseIP(s.Spec.ClusterIPs[1]).To4() != nil ||
		len(s.Spec.IPFamilies) != 2 || s.Spec.IPFamilies[1] != corev1.IPv6Protocol {
		t.Fatalf("dual-stack spec %+v", s.Spec)
	}
	v6 := f.mustCreate(service("v6", func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }))
	if net.ParseIP(v6.Spec.ClusterIP).To4() != nil {
		t.Errorf("IPv6 service got %s", v6.Spec.ClusterIP)
	}
	_, err := f.create(service("mismatch", func(s *corev1.Service) {
		s.Spec.ClusterIP = "fd00::5"
		s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	}))
	wantInvalid(t, err, "spec.clusterIPs[0]")
	// Downgrading to single-stack drops and releases the secondary.
	single := corev1.IPFamilyPolicySingleStack
	second := s.Spec.ClusterIPs[1]
	down, err := f.update("dual", func(s *corev1.Service) { s.Spec.IPFamilyPolicy = &single })
	if err != nil || len(down.Spec.ClusterIPs) != 1 || len(down.Spec.IPFamilies) != 1 {
		t.Fatalf("downgrade: %+v %v", down, err)
	}
	if h := f.ipHolder(second); h != "" {
		t.Errorf("secondary %s still held by %q", second, h)
	}
}

func TestNodePorts(t *testing.T) {
	f := newFixture(t, "10.96.0.0/24", "30000-30099")
	np := func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }
	s := f.mustCreate(service("np", np, func(s *corev1.Service) {
		s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 81, NodePort: 30005}}
	}))
	if p := s.Spec.Ports[0].NodePort; p < 30000 || p > 30099 || p == 30005 {
		t.Errorf("allocated node port %d", p)
	}
	if s.Spec.Ports[1].NodePort != 30005 || f.portHolder(30005) == "" {
		t.Errorf("requested node port not held: %+v", s.Spec.Ports)
	}
	_, err := f.create(service("clash", np, func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30005 }))
	wantInvalid(t, err, "spec.ports[0].nodePort", "provided port is already allocated")
	_, err = f.create(service("outside", np, func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 31000 }))
	wantInvalid(t, err, "The range of valid ports is 30000-30099")
	// The same node port for TCP and UDP of one service is one claim.
	f.mustCreate(service("dns", np, func(s *corev1.Service) {
		s.Spec.Ports = []corev1.ServicePort{{Name: "tcp", Port: 53, NodePort: 30053}, {Name: "udp", Port: 53, Protocol: corev1.ProtocolUDP, NodePort: 30053}}
	}))

	// Back to ClusterIP: the ports are dropped and released once stored.
	first := s.Spec.Ports[0].NodePort
	back, err := f.update("np", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range back.Spec.Ports {
		if p.NodePort != 0 {
			t.Errorf("ClusterIP service kept node port %d", p.NodePort)
		}
	}
	if f.portHolder(first) != "" || f.portHolder(30005) != "" {
		t.Error("node ports not released after the change to ClusterIP")
	}
	// And to NodePort again: new ports.
	again, err := f.update("np", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort })
	if err != nil || again.Spec.Ports[0].NodePort == 0 {
		t.Fatalf("NodePort again: %+v %v", again, err)
	}
	// An update that omits node ports keeps them.
	keep, err := f.update("np", func(s *corev1.Service) {
		for i := range s.Spec.Ports {
			s.Spec.Ports[i].NodePort = 0
		}
	})
	if err != nil || keep.Spec.Ports[0].NodePort != again.Spec.Ports[0].NodePort {
		t.Fatalf("kept node ports: %+v %v", keep, err)
	}

	// LoadBalancer with externalTrafficPolicy Local gets a health-check port.
	lb := f.mustCreate(service("lb", func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	}))
	if lb.Spec.HealthCheckNodePort == 0 || f.portHolder(lb.Spec.HealthCheckNodePort) == "" {
		t.Errorf("health-check node port %d", lb.Spec.HealthCheckNodePort)
	}
	f.delete("lb")
	if f.portHolder(lb.Spec.HealthCheckNodePort) != "" || f.portHolder(lb.Spec.Ports[0].NodePort) != "" {
		t.Error("deleted LoadBalancer still holds ports")
	}
}

// TestConcurrentCreates fills a small range from many goroutines at once:
// every address goes to exactly one service, the rest are refused.
func TestConcurrentCreates(t *testing.T) {
	f := newFixture(t, "10.96.0.0/27", "") // 30 addresses
	const n = 40
	var wg sync.WaitGroup
	ips := make([]string, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := f.create(service(fmt.Sprintf("s%d", i)))
			errs[i] = err
			if err == nil {
				ips[i] = s.Spec.ClusterIP
			}
		}(i)
	}
	wg.Wait()
	seen := map[string]bool{}
	ok := 0
	for i, ip := range ips {
		if errs[i] != nil {
			if !strings.Contains(errs[i].Error(), "range is full") {
				t.Errorf("s%d: %v", i, errs[i])
			}
			continue
		}
		ok++
		if seen[ip] {
			t.Errorf("%s allocated twice", ip)
		}
		seen[ip] = true
	}
	if ok != 30 {
		t.Errorf("%d services got an address, want 30", ok)
	}
}

func TestRepair(t *testing.T) {
	f := newFixture(t, "10.96.0.0/24", "30000-30099")
	s := f.mustCreate(service("kept", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }))
	ctx := context.Background()
	list := func(ctx context.Context) ([]corev1.Service, error) {
		out, err := f.store.List(ctx, "", &metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return out.(*corev1.ServiceList).Items, nil
	}
	// Lost claims come back.
	if _, err := testClient.Delete(ctx, f.a.ipClaims.prefix+s.Spec.ClusterIP); err != nil {
		t.Fatal(err)
	}
	if _, err := testClient.Delete(ctx, fmt.Sprintf("%s%d", f.a.ports.claims.prefix, s.Spec.Ports[0].NodePort)); err != nil {
		t.Fatal(err)
	}
	// A leaked claim goes on the second pass, not the first.
	if _, err := testClient.Put(ctx, f.a.ipClaims.prefix+"10.96.0.99", "default/gone/uid"); err != nil {
		t.Fatal(err)
	}
	if err := f.a.Repair(ctx, list); err != nil {
		t.Fatal(err)
	}
	if f.ipHolder(s.Spec.ClusterIP) == "" || f.portHolder(s.Spec.Ports[0].NodePort) == "" {
		t.Error("repair did not restore the lost claims")
	}
	if f.ipHolder("10.96.0.99") == "" {
		t.Error("first pass released a suspected leak")
	}
	if err := f.a.Repair(ctx, list); err != nil {
		t.Fatal(err)
	}
	if f.ipHolder("10.96.0.99") != "" {
		t.Error("second pass kept the leaked claim")
	}
	if f.ipHolder(s.Spec.ClusterIP) == "" {
		t.Error("repair released a held address")
	}

	// A listing taken before a delete must not resurrect the deleted
	// service's claim.
	gone := f.mustCreate(service("gone"))
	stale, err := list(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.delete("gone")
	if err := f.a.Repair(ctx, func(context.Context) ([]corev1.Service, error) { return stale, nil }); err != nil {
		t.Fatal(err)
	}
	if h := f.ipHolder(gone.Spec.ClusterIP); h != "" {
		t.Errorf("repair from a stale listing re-claimed %s for %q", gone.Spec.ClusterIP, h)
	}
}

package apiserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/servicealloc"
)

// The `kubernetes` Service and its endpoints, as kube-apiserver keeps them
// with its default (lease) endpoint reconciler: every API server holds an
// etcd lease on <prefix>/masterleases/<address> and the endpoints list the
// addresses with a live lease.
const (
	kubernetesServiceName  = "kubernetes"
	kubernetesServicePort  = 443
	kubernetesPortName     = "https"
	masterLeaseTTL         = 15 // seconds
	endpointReconcileEvery = 10 * time.Second
	skipMirrorLabel        = "endpointslice.kubernetes.io/skip-mirror"
	serviceNameLabel       = "kubernetes.io/service-name"
)

// AdvertiseAddress resolves --advertise-address: the flag, else the bind
// address unless it is unspecified, else this host's first global unicast
// address (nil when there is none).
func AdvertiseAddress(flag, bind string) (net.IP, error) {
	if flag != "" {
		ip := net.ParseIP(flag)
		if ip == nil {
			return nil, fmt.Errorf("--advertise-address %q is not an IP address", flag)
		}
		return ip, nil
	}
	if ip := net.ParseIP(bind); ip != nil && !ip.IsUnspecified() {
		return ip, nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, nil
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() && n.IP.To4() != nil {
			return n.IP, nil
		}
	}
	return nil, nil
}

// kubernetesService keeps default/kubernetes current.
type kubernetesService struct {
	s         *server
	clusterIP string
	port      int32
	advertise net.IP
	leaseKey  string
	leases    string // prefix of every server's lease key
	lease     clientv3.LeaseID
}

func (s *server) startKubernetesService(ctx context.Context, advertise net.IP, port int) {
	prefix := strings.TrimSuffix(s.cfg.EtcdPrefix, "/") + "/masterleases/"
	k := &kubernetesService{s: s, clusterIP: s.services.KubernetesServiceIP().String(), port: int32(port),
		advertise: advertise, leases: prefix}
	// Endpoints may not name loopback, link-local or unspecified
	// addresses; a server that has only such an address publishes none.
	if advertise != nil && advertise.IsGlobalUnicast() {
		k.leaseKey = prefix + advertise.String()
	} else {
		s.log.Info("the kubernetes Service gets no endpoints: no routable --advertise-address", "address", fmt.Sprint(advertise))
	}
	go k.run(request.WithUser(ctx, systemUser))
}

func (k *kubernetesService) run(ctx context.Context) {
	t := time.NewTicker(endpointReconcileEvery)
	defer t.Stop()
	for {
		if err := k.reconcile(ctx); err != nil && ctx.Err() == nil {
			k.s.log.Warn("reconciling the kubernetes Service", "err", err)
		}
		select {
		case <-ctx.Done():
			k.stop()
			return
		case <-t.C:
		}
	}
}

// stop gives up this server's lease and drops it from the endpoints, so
// clients stop being sent to a server that is going away.
func (k *kubernetesService) stop() {
	if k.leaseKey == "" {
		return
	}
	ctx, cancel := context.WithTimeout(request.WithUser(context.Background(), systemUser), 3*time.Second)
	defer cancel()
	if _, err := k.s.etcd.Delete(ctx, k.leaseKey); err != nil {
		return
	}
	k.leaseKey = ""
	_ = k.reconcileEndpoints(ctx)
}

func (k *kubernetesService) reconcile(ctx context.Context) error {
	if err := k.ensureService(ctx); err != nil {
		return err
	}
	if k.leaseKey != "" {
		if err := k.renewLease(ctx); err != nil {
			return err
		}
	}
	return k.reconcileEndpoints(ctx)
}

func (k *kubernetesService) store(group, version, plural string) (*registry.Store, bool) {
	r, ok := k.s.catalogue.Lookup(group, version, plural)
	if !ok {
		return nil, false
	}
	return k.s.stores.Store(r)
}

func (k *kubernetesService) ensureService(ctx context.Context) error {
	st, _ := k.store("", "v1", "services")
	want := []corev1.ServicePort{{Name: kubernetesPortName, Protocol: corev1.ProtocolTCP, Port: kubernetesServicePort,
		TargetPort: intstr.FromInt32(k.port)}}
	cur, err := st.Get(ctx, metav1.NamespaceDefault, kubernetesServiceName, "")
	if apierrors.IsNotFound(err) {
		svc := st.Resource.New().(*corev1.Service)
		svc.Name, svc.Namespace = kubernetesServiceName, metav1.NamespaceDefault
		svc.Labels = map[string]string{"component": "apiserver", "provider": "kubernetes"}
		svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: k.clusterIP, Ports: want,
			SessionAffinity: corev1.ServiceAffinityNone}
		_, err = st.Create(ctx, metav1.NamespaceDefault, svc, registry.WriteOptions{FieldManager: "kube-apiserver"})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	svc := cur.(*corev1.Service)
	if svc.Spec.Type == corev1.ServiceTypeClusterIP && apiequality.Semantic.DeepEqual(svc.Spec.Ports, want) {
		return nil
	}
	_, err = st.Update(ctx, metav1.NamespaceDefault, kubernetesServiceName, func(cur runtime.Object) (runtime.Object, error) {
		svc := cur.(*corev1.Service)
		svc.Spec.Type, svc.Spec.Ports = corev1.ServiceTypeClusterIP, want
		return svc, nil
	}, registry.WriteOptions{FieldManager: "kube-apiserver"})
	return err
}

func (k *kubernetesService) renewLease(ctx context.Context) error {
	if k.lease != 0 {
		if _, err := k.s.etcd.KeepAliveOnce(ctx, k.lease); err == nil {
			return nil
		}
	}
	g, err := k.s.etcd.Grant(ctx, masterLeaseTTL)
	if err != nil {
		return fmt.Errorf("granting the endpoint lease: %w", err)
	}
	k.lease = g.ID
	_, err = k.s.etcd.Put(ctx, k.leaseKey, k.advertise.String(), clientv3.WithLease(g.ID))
	return err
}

// addresses are the advertised addresses of the servers with a live lease.
func (k *kubernetesService) addresses(ctx context.Context) ([]string, error) {
	resp, err := k.s.etcd.Get(ctx, k.leases, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kv := range resp.Kvs {
		if ip := net.ParseIP(string(kv.Key[len(k.leases):])); ip != nil && ip.IsGlobalUnicast() {
			out = append(out, ip.String())
		}
	}
	sort.Strings(out)
	return out, nil
}

func (k *kubernetesService) reconcileEndpoints(ctx context.Context) error {
	ips, err := k.addresses(ctx)
	if err != nil || len(ips) == 0 {
		// No server publishes a routable address: leave what is there.
		return err
	}
	if err := k.reconcileCoreEndpoints(ctx, ips); err != nil {
		return err
	}
	return k.reconcileSlice(ctx, ips)
}

func (k *kubernetesService) reconcileCoreEndpoints(ctx context.Context, ips []string) error {
	st, _ := k.store("", "v1", "endpoints")
	subset := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Name: kubernetesPortName, Port: k.port, Protocol: corev1.ProtocolTCP}}}
	for _, ip := range ips {
		subset.Addresses = append(subset.Addresses, corev1.EndpointAddress{IP: ip})
	}
	want := []corev1.EndpointSubset{subset}
	labels := map[string]string{skipMirrorLabel: "true"}
	cur, err := st.Get(ctx, metav1.NamespaceDefault, kubernetesServiceName, "")
	if apierrors.IsNotFound(err) {
		ep := st.Resource.New().(*corev1.Endpoints)
		ep.Name, ep.Namespace, ep.Labels, ep.Subsets = kubernetesServiceName, metav1.NamespaceDefault, labels, want
		_, err = st.Create(ctx, metav1.NamespaceDefault, ep, registry.WriteOptions{FieldManager: "kube-apiserver"})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if ep := cur.(*corev1.Endpoints); apiequality.Semantic.DeepEqual(ep.Subsets, want) && ep.Labels[skipMirrorLabel] == "true" {
		return nil
	}
	_, err = st.Update(ctx, metav1.NamespaceDefault, kubernetesServiceName, func(cur runtime.Object) (runtime.Object, error) {
		ep := cur.(*corev1.Endpoints)
		ep.Subsets = want
		if ep.Labels == nil {
			ep.Labels = map[string]string{}
		}
		ep.Labels[skipMirrorLabel] = "true"
		return ep, nil
	}, registry.WriteOptions{FieldManager: "kube-apiserver"})
	return err
}

// reconcileSlice keeps the EndpointSlice `kubernetes` beside the
// Endpoints, as kube-apiserver writes both itself.
func (k *kubernetesService) reconcileSlice(ctx context.Context, ips []string) error {
	st, ok := k.store("discovery.k8s.io", "v1", "endpointslices")
	if !ok {
		return nil
	}
	ready := true
	name, proto, port := kubernetesPortName, corev1.ProtocolTCP, k.port
	want := &discoveryv1.EndpointSlice{
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &port}},
	}
	for _, ip := range ips {
		if net.ParseIP(ip).To4() == nil {
			want.AddressType = discoveryv1.AddressTypeIPv6
		}
		want.Endpoints = append(want.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	labels := map[string]string{serviceNameLabel: kubernetesServiceName}
	cur, err := st.Get(ctx, metav1.NamespaceDefault, kubernetesServiceName, "")
	if apierrors.IsNotFound(err) {
		es := st.Resource.New().(*discoveryv1.EndpointSlice)
		es.Name, es.Namespace, es.Labels = kubernetesServiceName, metav1.NamespaceDefault, labels
		es.AddressType, es.Endpoints, es.Ports = want.AddressType, want.Endpoints, want.Ports
		_, err = st.Create(ctx, metav1.NamespaceDefault, es, registry.WriteOptions{FieldManager: "kube-apiserver"})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	es := cur.(*discoveryv1.EndpointSlice)
	if es.AddressType == want.AddressType && apiequality.Semantic.DeepEqual(es.Endpoints, want.Endpoints) &&
		apiequality.Semantic.DeepEqual(es.Ports, want.Ports) {
		return nil
	}
	if es.AddressType != want.AddressType {
		// addressType is immutable: replace the slice.
		if _, err := st.Delete(ctx, metav1.NamespaceDefault, kubernetesServiceName, nil, false); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return k.reconcileSlice(ctx, ips)
	}
	_, err = st.Update(ctx, metav1.NamespaceDefault, kubernetesServiceName, func(cur runtime.Object) (runtime.Object, error) {
		es := cur.(*discoveryv1.EndpointSlice)
		es.Endpoints, es.Ports = want.Endpoints, want.Ports
		for k, v := range labels {
			if es.Labels == nil {
				es.Labels = map[string]string{}
			}
			es.Labels[k] = v
		}
		return es, nil
	}, registry.WriteOptions{FieldManager: "kube-apiserver"})
	return err
}

// newServiceAllocator builds the allocator of --service-cluster-ip-range
// and --service-node-port-range; key is the Service store's key function.
func newServiceAllocator(cfg Config, client *clientv3.Client, key func(ns, name string) string, log *slog.Logger) (*servicealloc.Allocator, error) {
	cidrs, err := servicealloc.ParseServiceCIDRs(cfg.ServiceClusterIPRange)
	if err != nil {
		return nil, err
	}
	ports, err := servicealloc.ParsePortRange(cfg.ServiceNodePortRange)
	if err != nil {
		return nil, err
	}
	return servicealloc.New(servicealloc.Config{Client: client, Prefix: cfg.EtcdPrefix, ServiceCIDRs: cidrs, NodePorts: ports,
		ServiceKey: key, Log: log})
}

// listServices reads every Service for the allocator's repair pass.
func (s *server) listServices(ctx context.Context) ([]corev1.Service, error) {
	st, _ := s.stores.Store(mustLookup(s.catalogue, "", "v1", "services"))
	out, err := st.List(request.WithUser(ctx, systemUser), "", &metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	return out.(*corev1.ServiceList).Items, nil
}

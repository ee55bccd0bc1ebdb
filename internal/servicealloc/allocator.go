package servicealloc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/registry"
)

// Config configures an Allocator.
type Config struct {
	// Client is the etcd the cluster's objects live in.
	Client *clientv3.Client
	// Prefix is the cluster's etcd prefix (--etcd-prefix, e.g. /registry).
	Prefix string
	// ServiceCIDRs are the parsed --service-cluster-ip-range, primary first.
	ServiceCIDRs []*net.IPNet
	// NodePorts is the parsed --service-node-port-range.
	NodePorts PortRange
	// ServiceKey returns the etcd key of a Service (the repair pass
	// conditions its writes on the service being unchanged).
	ServiceKey func(namespace, name string) string
	// Log receives release failures and repairs.
	Log *slog.Logger
}

// Allocator claims and releases Services' cluster IPs and node ports. It
// is the Service store's registry.WriteHooks.
type Allocator struct {
	ranges   []ipRange
	ips      map[corev1.IPFamily]*pool
	ipClaims claims
	ports    *pool
	portSpan PortRange
	log      *slog.Logger
	svcKey   func(namespace, name string) string
	// suspects are claims the last repair found held by no service, with
	// the revision they had then.
	suspects map[string]int64
}

var _ registry.WriteHooks = (*Allocator)(nil)

// New returns an allocator over cfg's ranges.
func New(cfg Config) (*Allocator, error) {
	if cfg.Client == nil || len(cfg.ServiceCIDRs) == 0 || cfg.NodePorts.Size == 0 || cfg.ServiceKey == nil || cfg.Log == nil {
		return nil, errors.New("servicealloc: Client, ServiceCIDRs, NodePorts, ServiceKey and Log are required")
	}
	base := strings.TrimSuffix(cfg.Prefix, "/") + "/kastle.io/"
	a := &Allocator{
		ips:      map[corev1.IPFamily]*pool{},
		ipClaims: claims{client: cfg.Client, prefix: base + clusterIPKeyPrefixShort},
		portSpan: cfg.NodePorts,
		log:      cfg.Log,
		svcKey:   cfg.ServiceKey,
		suspects: map[string]int64{},
	}
	for _, n := range cfg.ServiceCIDRs {
		r := newIPRange(n)
		a.ranges = append(a.ranges, r)
		a.ips[r.family] = newPool(a.ipClaims, r.size, func(o int64) string { return r.ip(o).String() })
	}
	pr := cfg.NodePorts
	a.ports = newPool(claims{client: cfg.Client, prefix: base + nodePortKeyPrefix}, int64(pr.Size),
		func(o int64) string { return strconv.Itoa(pr.Base + int(o) - 1) })
	return a, nil
}

// KubernetesServiceIP is the first address of the primary range, which
// the `kubernetes` Service in `default` holds.
func (a *Allocator) KubernetesServiceIP() net.IP { return a.ranges[0].ip(1) }

// KubernetesServiceIP is the first address of cidr: the cluster IP the
// `kubernetes` Service gets when cidr is the primary service range.
func KubernetesServiceIP(cidr *net.IPNet) net.IP { return newIPRange(cidr).ip(1) }

// Families are the IP families the cluster serves, primary first.
func (a *Allocator) Families() []corev1.IPFamily {
	out := make([]corev1.IPFamily, len(a.ranges))
	for i, r := range a.ranges {
		out[i] = r.family
	}
	return out
}

func (a *Allocator) rangeOf(f corev1.IPFamily) (ipRange, bool) {
	for _, r := range a.ranges {
		if r.family == f {
			return r, true
		}
	}
	return ipRange{}, false
}

// ownerOf names a service's claims: a deleted and recreated service of the
// same name is a different owner.
func ownerOf(s *corev1.Service) string {
	return s.Namespace + "/" + s.Name + "/" + string(s.UID)
}

// change collects what one write claimed and what it gives up.
type change struct {
	a        *Allocator
	owner    string
	newIPs   []string
	newPorts []string
	oldIPs   []string
	oldPorts []string
}

func (c *change) finish(ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ips, ports := c.newIPs, c.newPorts
	if ok {
		ips, ports = c.oldIPs, c.oldPorts
	}
	for _, ip := range ips {
		if err := c.a.ipClaims.release(ctx, ip, c.owner); err != nil {
			c.a.log.Warn("releasing a service IP failed; the repair pass will", "ip", ip, "err", err)
		}
	}
	for _, p := range ports {
		if err := c.a.ports.claims.release(ctx, p, c.owner); err != nil {
			c.a.log.Warn("releasing a node port failed; the repair pass will", "port", p, "err", err)
		}
	}
}

// BeforeCreate allocates obj's cluster IPs and node ports.
func (a *Allocator) BeforeCreate(ctx context.Context, obj runtime.Object, dryRun bool) (registry.Finish, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("servicealloc: %T is not a Service", obj))
	}
	c := &change{a: a, owner: ownerOf(svc)}
	if err := a.allocate(ctx, svc, nil, c, dryRun); err != nil {
		if !dryRun {
			c.finish(false)
		}
		return nil, err
	}
	if dryRun {
		return func(bool) {}, nil
	}
	return c.finish, nil
}

// BeforeUpdate carries allocated values over from old, allocates what
// obj newly needs and, on success, releases what it no longer holds.
func (a *Allocator) BeforeUpdate(ctx context.Context, obj, old runtime.Object, dryRun bool) (registry.Finish, error) {
	svc, ok1 := obj.(*corev1.Service)
	prev, ok2 := old.(*corev1.Service)
	if !ok1 || !ok2 {
		return nil, apierrors.NewInternalError(fmt.Errorf("servicealloc: %T/%T are not Services", obj, old))
	}
	c := &change{a: a, owner: ownerOf(prev)}
	if err := a.allocate(ctx, svc, prev, c, dryRun); err != nil {
		if !dryRun {
			c.finish(false)
		}
		return nil, err
	}
	if dryRun {
		return func(bool) {}, nil
	}
	return c.finish, nil
}

// Deleted releases everything the deleted service held.
func (a *Allocator) Deleted(ctx context.Context, obj runtime.Object) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	c := &change{a: a, owner: ownerOf(svc), oldIPs: heldIPs(svc), oldPorts: heldPorts(svc)}
	c.finish(true)
}

// heldIPs are the allocated cluster IPs of s.
func heldIPs(s *corev1.Service) []string {
	if s.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var out []string
	for _, ip := range s.Spec.ClusterIPs {
		if ip != "" && ip != corev1.ClusterIPNone {
			if p := net.ParseIP(ip); p != nil {
				out = append(out, p.String())
			}
		}
	}
	return out
}

// heldPorts are the node ports of s, each once.
func heldPorts(s *corev1.Service) []string {
	seen := map[int32]bool{}
	var out []string
	add := func(p int32) {
		if p != 0 && !seen[p] {
			seen[p] = true
			out = append(out, strconv.Itoa(int(p)))
		}
	}
	for _, p := range s.Spec.Ports {
		add(p.NodePort)
	}
	add(s.Spec.HealthCheckNodePort)
	return out
}

func (a *Allocator) allocate(ctx context.Context, svc, old *corev1.Service, c *change, dryRun bool) error {
	if errs := a.allocateIPs(ctx, svc, old, c, dryRun); len(errs) > 0 {
		return toStatus(svc, errs)
	}
	if errs := a.allocatePorts(ctx, svc, old, c, dryRun); len(errs) > 0 {
		return toStatus(svc, errs)
	}
	if old != nil {
		c.oldIPs = without(heldIPs(old), heldIPs(svc))
		c.oldPorts = without(heldPorts(old), heldPorts(svc))
	}
	return nil
}

// toStatus turns allocation errors into the API error: storage failures
// are the server's (500), everything else the request's (422).
func toStatus(svc *corev1.Service, errs field.ErrorList) error {
	for _, e := range errs {
		if e.Type == field.ErrorTypeInternal {
			return apierrors.NewInternalError(errors.New(e.Detail))
		}
	}
	return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, errs)
}

func without(all, keep []string) []string {
	var out []string
	for _, v := range all {
		found := false
		for _, k := range keep {
			if k == v {
				found = true
				break
			}
		}
		if !found {
			out = append(out, v)
		}
	}
	return out
}

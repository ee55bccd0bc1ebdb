package servicealloc

import (
	"context"
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// allocateIPs settles spec.ipFamilies, spec.clusterIPs and spec.clusterIP:
// requested addresses are claimed (or refused with 422), missing ones are
// allocated, and an update keeps what old held.
func (a *Allocator) allocateIPs(ctx context.Context, svc, old *corev1.Service, c *change, dryRun bool) field.ErrorList {
	spec := &svc.Spec
	sp := field.NewPath("spec")
	if spec.Type == corev1.ServiceTypeExternalName {
		// A change to ExternalName drops the IPs the client carried over
		// from a read; they are released once the write succeeds.
		if old != nil && old.Spec.Type != corev1.ServiceTypeExternalName &&
			(spec.ClusterIP == "" || spec.ClusterIP == old.Spec.ClusterIP) {
			spec.ClusterIP, spec.ClusterIPs, spec.IPFamilies, spec.IPFamilyPolicy = "", nil, nil, nil
		}
		return nil
	}
	if old != nil && old.Spec.Type != corev1.ServiceTypeExternalName {
		if spec.ClusterIP == "" && len(spec.ClusterIPs) == 0 {
			spec.ClusterIP = old.Spec.ClusterIP
			spec.ClusterIPs = append([]string(nil), old.Spec.ClusterIPs...)
		}
		if len(spec.IPFamilies) == 0 {
			spec.IPFamilies = append([]corev1.IPFamily(nil), old.Spec.IPFamilies...)
		}
	}
	if spec.ClusterIP != "" && len(spec.ClusterIPs) == 0 {
		spec.ClusterIPs = []string{spec.ClusterIP}
	}
	if spec.ClusterIP == "" && len(spec.ClusterIPs) > 0 {
		spec.ClusterIP = spec.ClusterIPs[0]
	}
	if len(spec.ClusterIPs) > 0 && spec.ClusterIPs[0] != spec.ClusterIP {
		return field.ErrorList{field.Invalid(sp.Child("clusterIPs"), spec.ClusterIPs, "first value must match `clusterIP`")}
	}
	headless := spec.ClusterIP == corev1.ClusterIPNone
	policy := corev1.IPFamilyPolicySingleStack
	if spec.IPFamilyPolicy != nil {
		policy = *spec.IPFamilyPolicy
	}

	// The requested addresses, parsed.
	var errs field.ErrorList
	requested := make([]net.IP, len(spec.ClusterIPs))
	for i, s := range spec.ClusterIPs {
		p := sp.Child("clusterIPs").Index(i)
		if s == corev1.ClusterIPNone {
			if i > 0 || len(spec.ClusterIPs) > 1 {
				errs = append(errs, field.Invalid(p, s, "'None' must be the only value"))
			}
			continue
		}
		if headless {
			continue
		}
		if requested[i] = net.ParseIP(s); requested[i] == nil {
			errs = append(errs, field.Invalid(p, s, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
		}
	}
	if len(errs) > 0 {
		return errs
	}

	// The families: as requested, else those of the requested addresses,
	// else the cluster's primary; dual-stack policies add the other one.
	fams := append([]corev1.IPFamily(nil), spec.IPFamilies...)
	if len(fams) == 0 {
		for _, ip := range requested {
			if ip != nil {
				fams = append(fams, familyOf(ip))
			}
		}
	}
	if len(fams) == 0 {
		fams = []corev1.IPFamily{a.ranges[0].family}
	}
	fp := sp.Child("ipFamilies")
	if len(fams) > 2 {
		return field.ErrorList{field.Invalid(fp, fams, "may specify no more than one IP for each IP family")}
	}
	for i, f := range fams {
		if _, ok := a.rangeOf(f); !ok && (f == corev1.IPv4Protocol || f == corev1.IPv6Protocol) {
			errs = append(errs, field.Invalid(fp.Index(i), f, "not configured on this cluster"))
		}
		if i == 1 && fams[0] == f {
			errs = append(errs, field.Duplicate(fp.Index(i), f))
		}
	}
	for i, ip := range requested {
		if ip != nil && i < len(fams) && familyOf(ip) != fams[i] {
			errs = append(errs, field.Invalid(sp.Child("clusterIPs").Index(i), spec.ClusterIPs[i],
				fmt.Sprintf("expected an %s value as indicated by `ipFamilies[%d]`", fams[i], i)))
		}
	}
	if len(requested) > len(fams) && !headless {
		errs = append(errs, field.Invalid(sp.Child("clusterIPs"), spec.ClusterIPs, "may specify no more than one IP for each IP family"))
	}
	if len(errs) > 0 {
		return errs
	}
	switch policy {
	case corev1.IPFamilyPolicySingleStack:
		if len(fams) > 1 || len(spec.ClusterIPs) > 1 {
			carried := old != nil && len(spec.ClusterIPs) == 2 && len(old.Spec.ClusterIPs) == 2 && spec.ClusterIPs[1] == old.Spec.ClusterIPs[1]
			if !carried {
				return field.ErrorList{field.Invalid(sp.Child("ipFamilyPolicy"), policy,
					"must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified")}
			}
			// A downgrade to single-stack drops the secondary address.
			fams, spec.ClusterIPs, requested = fams[:1], spec.ClusterIPs[:1], requested[:1]
		}
	case corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicyPreferDualStack:
		if policy == corev1.IPFamilyPolicyRequireDualStack && len(a.ranges) < 2 {
			return field.ErrorList{field.Invalid(sp.Child("ipFamilyPolicy"), policy, "this cluster is not configured for dual-stack services")}
		}
		if len(a.ranges) == 2 && len(fams) == 1 {
			for _, r := range a.ranges {
				if r.family != fams[0] {
					fams = append(fams, r.family)
				}
			}
		}
	}
	spec.IPFamilies = fams
	if headless {
		spec.ClusterIPs = []string{corev1.ClusterIPNone}
		return nil
	}

	held := map[string]bool{}
	if old != nil {
		for _, ip := range heldIPs(old) {
			held[ip] = true
		}
	}
	owner := c.owner
	for i, f := range fams {
		r, _ := a.rangeOf(f)
		pool := a.ips[f]
		if i < len(requested) && requested[i] != nil {
			ip := requested[i]
			name := ip.String()
			if held[name] {
				continue
			}
			p := sp.Child("clusterIPs")
			if _, ok := r.offset(ip); !ok {
				return field.ErrorList{field.Invalid(p, spec.ClusterIPs, fmt.Sprintf(
					"failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", name, name, r.cidr))}
			}
			ok, err := pool.take(ctx, name, owner, dryRun)
			if err != nil {
				return field.ErrorList{field.InternalError(p, fmt.Errorf("failed to allocate IP %s: %w", name, err))}
			}
			if !ok {
				return field.ErrorList{field.Invalid(p, spec.ClusterIPs, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", name))}
			}
			if !dryRun {
				c.newIPs = append(c.newIPs, name)
			}
			continue
		}
		name, err := pool.next(ctx, owner, dryRun)
		if err != nil {
			return field.ErrorList{field.InternalError(sp.Child("clusterIPs"), fmt.Errorf("failed to allocate a serviceIP: %w", err))}
		}
		if !dryRun {
			c.newIPs = append(c.newIPs, name)
		}
		spec.ClusterIPs = append(spec.ClusterIPs[:i], name)
	}
	spec.ClusterIP = spec.ClusterIPs[0]
	return nil
}

// allocatePorts settles node ports and the health-check node port.
func (a *Allocator) allocatePorts(ctx context.Context, svc, old *corev1.Service, c *change, dryRun bool) field.ErrorList {
	spec := &svc.Spec
	sp := field.NewPath("spec")
	mayHave := spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer
	needs := spec.Type == corev1.ServiceTypeNodePort ||
		(spec.Type == corev1.ServiceTypeLoadBalancer && (spec.AllocateLoadBalancerNodePorts == nil || *spec.AllocateLoadBalancerNodePorts))
	needsHC := spec.Type == corev1.ServiceTypeLoadBalancer && spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	held := map[string]bool{}
	if old != nil {
		for _, p := range heldPorts(old) {
			held[p] = true
		}
	}
	if !mayHave {
		// A change away from NodePort drops the ports carried over from
		// a read; they are released once the write succeeds.
		for i := range spec.Ports {
			if p := spec.Ports[i].NodePort; p != 0 && held[strconv.Itoa(int(p))] {
				spec.Ports[i].NodePort = 0
			}
		}
		if old != nil && spec.ExternalTrafficPolicy == old.Spec.ExternalTrafficPolicy {
			spec.ExternalTrafficPolicy = ""
		}
	}
	if old != nil && spec.Type != corev1.ServiceTypeLoadBalancer && old.Spec.Type == corev1.ServiceTypeLoadBalancer {
		if spec.AllocateLoadBalancerNodePorts != nil && old.Spec.AllocateLoadBalancerNodePorts != nil &&
			*spec.AllocateLoadBalancerNodePorts == *old.Spec.AllocateLoadBalancerNodePorts {
			spec.AllocateLoadBalancerNodePorts = nil
		}
	}
	if !needsHC && spec.HealthCheckNodePort != 0 && old != nil && spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort {
		spec.HealthCheckNodePort = 0
	}
	if !mayHave {
		return nil
	}
	if old != nil && needs {
		for i := range spec.Ports {
			p := &spec.Ports[i]
			if p.NodePort != 0 {
				continue
			}
			for _, op := range old.Spec.Ports {
				if op.Port == p.Port && op.Protocol == p.Protocol && op.NodePort != 0 {
					p.NodePort = op.NodePort
					break
				}
			}
		}
	}
	if needsHC && spec.HealthCheckNodePort == 0 && old != nil {
		spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
	}

	owner := c.owner
	mine := map[int32]bool{} // claimed (or held) by this service in this write
	take := func(port int32, p *field.Path) *field.Error {
		name := strconv.Itoa(int(port))
		if mine[port] {
			return nil
		}
		if held[name] {
			mine[port] = true
			return nil
		}
		if !a.portSpan.Contains(int(port)) {
			return field.Invalid(p, port, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %s", a.portSpan))
		}
		ok, err := a.ports.take(ctx, name, owner, dryRun)
		if err != nil {
			return field.InternalError(p, fmt.Errorf("failed to allocate port %d: %w", port, err))
		}
		if !ok {
			return field.Invalid(p, port, "provided port is already allocated")
		}
		mine[port] = true
		if !dryRun {
			c.newPorts = append(c.newPorts, name)
		}
		return nil
	}
	next := func() (int32, error) {
		name, err := a.ports.next(ctx, owner, dryRun)
		if err != nil {
			return 0, err
		}
		if !dryRun {
			c.newPorts = append(c.newPorts, name)
		}
		n, _ := strconv.Atoi(name)
		mine[int32(n)] = true
		return int32(n), nil
	}

	type portProto struct {
		port  int32
		proto corev1.Protocol
	}
	seen := map[portProto]bool{}
	for i, p := range spec.Ports {
		if p.NodePort == 0 {
			continue
		}
		pp := sp.Child("ports").Index(i).Child("nodePort")
		if k := (portProto{p.NodePort, p.Protocol}); seen[k] {
			return field.ErrorList{field.Duplicate(pp, p.NodePort)}
		} else {
			seen[k] = true
		}
		if e := take(p.NodePort, pp); e != nil {
			return field.ErrorList{e}
		}
	}
	if needs {
		for i := range spec.Ports {
			if spec.Ports[i].NodePort != 0 {
				continue
			}
			n, err := next()
			if err != nil {
				return field.ErrorList{field.InternalError(sp.Child("ports").Index(i).Child("nodePort"), portErr(err))}
			}
			spec.Ports[i].NodePort = n
		}
	}
	hp := sp.Child("healthCheckNodePort")
	switch {
	case needsHC && spec.HealthCheckNodePort != 0:
		if e := take(spec.HealthCheckNodePort, hp); e != nil {
			return field.ErrorList{e}
		}
	case needsHC:
		n, err := next()
		if err != nil {
			return field.ErrorList{field.InternalError(hp, portErr(err))}
		}
		spec.HealthCheckNodePort = n
	case spec.HealthCheckNodePort != 0:
		return field.ErrorList{field.Invalid(hp, spec.HealthCheckNodePort,
			"may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'")}
	}
	return nil
}

func portErr(err error) error { return fmt.Errorf("failed to allocate a nodePort: %w", err) }

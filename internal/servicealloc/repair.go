package servicealloc

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// RepairInterval is how often Run checks the claims against the services
// (kube-apiserver's repair controllers run every three minutes).
const RepairInterval = 3 * time.Minute

// Run repairs at once and then every interval until ctx ends. list
// returns every Service in the cluster.
func (a *Allocator) Run(ctx context.Context, interval time.Duration, list func(context.Context) ([]corev1.Service, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := a.Repair(ctx, list); err != nil && ctx.Err() == nil {
			a.log.Warn("service IP and node port repair failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Repair makes the claims match the services: a value a service holds
// without a claim is claimed for it while the service is unchanged since
// the listing (a value another service claimed is logged: two services
// share it); a claim no service holds is
// removed when the previous pass already saw it leaked, unchanged.
// Passes must not run concurrently (Run serialises them).
func (a *Allocator) Repair(ctx context.Context, list func(context.Context) ([]corev1.Service, error)) error {
	// Claims first, then services: a claim made by a create that is still
	// in flight is then seen without its service, never the reverse.
	ips, err := a.ipClaims.list(ctx)
	if err != nil {
		return err
	}
	ports, err := a.ports.claims.list(ctx)
	if err != nil {
		return err
	}
	svcs, err := list(ctx)
	if err != nil {
		return err
	}
	heldIP, heldPort := map[string]bool{}, map[string]bool{}
	for i := range svcs {
		s := &svcs[i]
		owner := ownerOf(s)
		rev, err := strconv.ParseInt(s.ResourceVersion, 10, 64)
		if err != nil {
			return fmt.Errorf("service %s/%s has resourceVersion %q", s.Namespace, s.Name, s.ResourceVersion)
		}
		guard := a.svcKey(s.Namespace, s.Name)
		for _, ip := range heldIPs(s) {
			heldIP[ip] = true
			if c, ok := ips[ip]; ok {
				if c.owner != owner {
					a.log.Warn("a cluster IP is claimed by another service", "ip", ip, "service", s.Namespace+"/"+s.Name, "claim", c.owner)
				}
				continue
			}
			if !a.inRange(ip) {
				a.log.Warn("a service holds a cluster IP outside --service-cluster-ip-range", "ip", ip, "service", s.Namespace+"/"+s.Name)
				continue
			}
			if ok, err := a.ipClaims.restore(ctx, ip, owner, guard, rev); err != nil {
				return err
			} else if ok {
				a.log.Info("repaired a lost cluster IP claim", "ip", ip, "service", s.Namespace+"/"+s.Name)
			}
		}
		for _, p := range heldPorts(s) {
			heldPort[p] = true
			if _, ok := ports[p]; ok {
				continue
			}
			if ok, err := a.ports.claims.restore(ctx, p, owner, guard, rev); err != nil {
				return err
			} else if ok {
				a.log.Info("repaired a lost node port claim", "port", p, "service", s.Namespace+"/"+s.Name)
			}
		}
	}
	suspects := map[string]int64{}
	release := func(c claims, kind string, all map[string]claimed, held map[string]bool) {
		for name, cl := range all {
			if held[name] {
				continue
			}
			key := kind + name
			if rev, ok := a.suspects[key]; ok && rev == cl.modRev {
				if err := c.deleteIfUnchanged(ctx, name, cl.modRev); err != nil {
					a.log.Warn("releasing a leaked claim failed", "claim", key, "err", err)
				} else {
					a.log.Info("released a leaked claim", "claim", key, "owner", cl.owner)
				}
				continue
			}
			suspects[key] = cl.modRev
		}
	}
	release(a.ipClaims, "ip/", ips, heldIP)
	release(a.ports.claims, "port/", ports, heldPort)
	a.suspects = suspects
	return nil
}

func (a *Allocator) inRange(ip string) bool {
	p := net.ParseIP(ip)
	for _, r := range a.ranges {
		if _, ok := r.offset(p); p != nil && ok {
			return true
		}
	}
	return false
}

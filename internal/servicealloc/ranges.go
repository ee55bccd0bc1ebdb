package servicealloc

import (
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Defaults of kube-apiserver 1.32.
const (
	DefaultServiceCIDR      = "10.96.0.0/12"
	DefaultNodePortRange    = "30000-32767"
	minIPv4PrefixLength     = 12
	minIPv6PrefixLength     = 108
	maxStaticBand           = 256
	minStaticBand           = 16
	staticBandDivisor       = 16
	probesBeforeFullScan    = 8
	nodePortKeyPrefix       = "servicenodeports/"
	clusterIPKeyPrefixShort = "serviceips/"
)

// ipRange is one service CIDR: offsets 1..size are allocatable (the
// network address, and for IPv4 the broadcast address, are not).
type ipRange struct {
	cidr   *net.IPNet
	family corev1.IPFamily
	base   *big.Int
	size   int64
}

// ParseServiceCIDRs parses --service-cluster-ip-range: one CIDR, or two
// of different families separated by a comma (the first is primary).
func ParseServiceCIDRs(s string) ([]*net.IPNet, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultServiceCIDR
	}
	parts := strings.Split(s, ",")
	if len(parts) > 2 {
		return nil, fmt.Errorf("--service-cluster-ip-range %q: at most two CIDRs (one per IP family)", s)
	}
	var out []*net.IPNet
	for _, p := range parts {
		ip, n, err := net.ParseCIDR(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("--service-cluster-ip-range: %q is not a CIDR", p)
		}
		if !ip.Equal(n.IP) {
			return nil, fmt.Errorf("--service-cluster-ip-range: %q is not a network address (did you mean %s?)", p, n)
		}
		ones, bits := n.Mask.Size()
		switch {
		case bits == 32 && ones < minIPv4PrefixLength:
			return nil, fmt.Errorf("--service-cluster-ip-range %s is too large; for 32-bit addresses the mask must be >= %d", n, minIPv4PrefixLength)
		case bits == 128 && ones < minIPv6PrefixLength:
			return nil, fmt.Errorf("--service-cluster-ip-range %s is too large; for 128-bit addresses the mask must be >= %d", n, minIPv6PrefixLength)
		case bits-ones < 2:
			return nil, fmt.Errorf("--service-cluster-ip-range %s is too small", n)
		}
		out = append(out, n)
	}
	if len(out) == 2 && familyOf(out[0].IP) == familyOf(out[1].IP) {
		return nil, fmt.Errorf("--service-cluster-ip-range %q: a dual-stack range needs one IPv4 and one IPv6 CIDR", s)
	}
	return out, nil
}

func familyOf(ip net.IP) corev1.IPFamily {
	if ip.To4() != nil {
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

func newIPRange(n *net.IPNet) ipRange {
	ones, bits := n.Mask.Size()
	total := new(big.Int).Lsh(big.NewInt(1), uint(bits-ones))
	size := total.Int64() - 1 // not the network address
	ip := n.IP
	if bits == 32 {
		ip = ip.To4()
		size-- // nor the broadcast address
	}
	return ipRange{cidr: n, family: familyOf(n.IP), base: new(big.Int).SetBytes(ip), size: size}
}

// ip returns the address at offset (1-based).
func (r ipRange) ip(offset int64) net.IP {
	v := new(big.Int).Add(r.base, big.NewInt(offset))
	b := v.Bytes()
	n := net.IPv6len
	if r.family == corev1.IPv4Protocol {
		n = net.IPv4len
	}
	out := make(net.IP, n)
	copy(out[n-len(b):], b)
	return out
}

// offset returns ip's offset, or false when it is outside the allocatable
// addresses.
func (r ipRange) offset(ip net.IP) (int64, bool) {
	if !r.cidr.Contains(ip) {
		return 0, false
	}
	if r.family == corev1.IPv4Protocol {
		ip = ip.To4()
	} else {
		ip = ip.To16()
	}
	o := new(big.Int).Sub(new(big.Int).SetBytes(ip), r.base).Int64()
	return o, o >= 1 && o <= r.size
}

// staticBand is how many low offsets dynamic allocation leaves for
// requested values while the rest of the range has room, as upstream
// does (between 16 and 256, 1/16 of the range).
func staticBand(size int64) int64 {
	b := size / staticBandDivisor
	if b < minStaticBand {
		b = minStaticBand
	}
	if b > maxStaticBand {
		b = maxStaticBand
	}
	if b > size {
		b = size
	}
	return b
}

// PortRange is an inclusive range of node ports.
type PortRange struct{ Base, Size int }

// ParsePortRange parses --service-node-port-range: "30000-32767" or
// "30000+2768" (base and size), or a single port.
func ParsePortRange(s string) (PortRange, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultNodePortRange
	}
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("--service-node-port-range %q: want FROM-TO or FROM+SIZE", s)
	num := func(v string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 65535 {
			return 0, bad
		}
		return n, nil
	}
	var r PortRange
	switch {
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		lo, err := num(a)
		if err != nil {
			return r, err
		}
		hi, err := num(b)
		if err != nil {
			return r, err
		}
		if hi < lo {
			return r, bad
		}
		r = PortRange{Base: lo, Size: hi - lo + 1}
	case strings.Contains(s, "+"):
		a, b, _ := strings.Cut(s, "+")
		lo, err := num(a)
		if err != nil {
			return r, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(b))
		if err != nil || n < 1 || lo+n-1 > 65535 {
			return r, bad
		}
		r = PortRange{Base: lo, Size: n}
	default:
		p, err := num(s)
		if err != nil {
			return r, err
		}
		r = PortRange{Base: p, Size: 1}
	}
	return r, nil
}

// Contains reports whether port is in the range.
func (r PortRange) Contains(port int) bool { return port >= r.Base && port < r.Base+r.Size }

// String is the range as the flag takes it.
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Base, r.Base+r.Size-1) }

package pki

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// SANs are a certificate's subject alternative names.
type SANs struct {
	DNSNames []string
	IPs      []net.IP
}

// ParseSANs reads SANs given as strings, as on a command line: a value that
// parses as an IP address is an IP SAN, anything else a DNS SAN (wildcards
// such as "*.example.com" allowed). Blank values are ignored.
func ParseSANs(values []string) (SANs, error) {
	var s SANs
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if ip := net.ParseIP(v); ip != nil {
			s.addIP(ip)
			continue
		}
		if err := validateDNSName(v); err != nil {
			return SANs{}, err
		}
		s.addDNS(v)
	}
	return s, nil
}

// addDNS appends a DNS name unless present (names are case-insensitive).
func (s *SANs) addDNS(name string) {
	name = strings.ToLower(name)
	if !slices.Contains(s.DNSNames, name) {
		s.DNSNames = append(s.DNSNames, name)
	}
}

// addIP appends an IP unless present.
func (s *SANs) addIP(ip net.IP) {
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	if !slices.ContainsFunc(s.IPs, ip.Equal) {
		s.IPs = append(s.IPs, ip)
	}
}

// merge adds every SAN of o not yet in s.
func (s *SANs) merge(o SANs) {
	for _, d := range o.DNSNames {
		s.addDNS(d)
	}
	for _, ip := range o.IPs {
		s.addIP(ip)
	}
}

// validateDNSName accepts what a DNS SAN may hold: 1–253 printable ASCII
// characters without spaces, and at most one leading "*." wildcard label.
func validateDNSName(name string) error {
	if name == "" || len(name) > 253 {
		return fmt.Errorf("invalid DNS SAN %q: length must be 1–253", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || c == '/' || c == ':' || c == '@' {
			return fmt.Errorf("invalid DNS SAN %q: character %q not allowed", name, c)
		}
	}
	if strings.Contains(strings.TrimPrefix(name, "*."), "*") {
		return fmt.Errorf("invalid DNS SAN %q: a wildcard is only allowed as the whole first label", name)
	}
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return fmt.Errorf("invalid DNS SAN %q: empty label", name)
	}
	return nil
}

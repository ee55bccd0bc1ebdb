package pki

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// SANs are a certificate's subject alternative names.
type SANs struct {
	DNSNames []string
	IPs      []net.IP
	// URIs and Emails are only filled by ParseHosts; ParseSANs keeps to
	// DNS and IP, which is all a serving certificate needs.
	URIs   []*url.URL
	Emails []string
}

// ParseHosts reads cfssl-style "hosts": like ParseSANs, plus a value with
// "://" is a URI SAN (e.g. spiffe://cluster/ns/x) and a value with "@" an
// email SAN.
func ParseHosts(values []string) (SANs, error) {
	var s SANs
	var plain []string
	for _, v := range values {
		v = strings.TrimSpace(v)
		switch {
		case strings.Contains(v, "://"):
			u, err := url.Parse(v)
			if err != nil || u.Scheme == "" {
				return SANs{}, fmt.Errorf("invalid URI SAN %q: %v", v, err)
			}
			if !slices.ContainsFunc(s.URIs, func(h *url.URL) bool { return h.String() == u.String() }) {
				s.URIs = append(s.URIs, u)
			}
		case strings.Contains(v, "@"):
			if err := validateEmail(v); err != nil {
				return SANs{}, err
			}
			if !slices.Contains(s.Emails, v) {
				s.Emails = append(s.Emails, v)
			}
		default:
			plain = append(plain, v)
		}
	}
	dnsIP, err := ParseSANs(plain)
	if err != nil {
		return SANs{}, err
	}
	s.DNSNames, s.IPs = dnsIP.DNSNames, dnsIP.IPs
	return s, nil
}

// validateEmail accepts local@domain with a valid DNS domain and a
// printable, space-free local part.
func validateEmail(e string) error {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || strings.Contains(domain, "@") {
		return fmt.Errorf("invalid email SAN %q: want local@domain", e)
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("invalid email SAN %q: character %q not allowed", e, c)
		}
	}
	if err := validateDNSName(domain); err != nil || strings.Contains(domain, "*") {
		return fmt.Errorf("invalid email SAN %q: bad domain", e)
	}
	return nil
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

// EtcdSANs are the SANs of a local etcd member's server and peer
// certificates, as kubeadm sets them: localhost, the node's name,
// 127.0.0.1, ::1 and the node's IPs.
func EtcdSANs(nodeName string, ips ...net.IP) SANs {
	var s SANs
	s.addDNS("localhost")
	if nodeName != "" {
		s.addDNS(nodeName)
	}
	s.addIP(net.IPv4(127, 0, 0, 1))
	s.addIP(net.IPv6loopback)
	for _, ip := range ips {
		s.addIP(ip)
	}
	return s
}

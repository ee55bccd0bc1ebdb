package pki_test

import (
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/kastle-dev/kastle/internal/pki"
)

func TestAPIServerSANs(t *testing.T) {
	base := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}
	tests := []struct {
		name    string
		cfg     pki.ServerPKIConfig
		dns     []string
		ips     []string
		wantErr string
	}{
		{name: "defaults with wildcard bind",
			cfg: pki.ServerPKIConfig{Hostname: "Node-1", BindAddress: "0.0.0.0"},
			dns: append(slices.Clone(base), "kubernetes.default.svc.cluster.local", "node-1"), ips: []string{"127.0.0.1"}},
		{name: "IPv6 wildcard bind is not a SAN", cfg: pki.ServerPKIConfig{Hostname: "h", BindAddress: "::"},
			dns: append(slices.Clone(base), "kubernetes.default.svc.cluster.local", "h"), ips: []string{"127.0.0.1"}},
		{name: "domain, bind, service IP and extras",
			cfg: pki.ServerPKIConfig{Hostname: "localhost", ClusterDomain: "corp.example.", BindAddress: "192.168.1.5",
				KubernetesServiceIP: net.ParseIP("10.96.0.1"),
				ExtraSANs:           []string{" api.example.com ", "192.168.1.5", "*.apps.example.com", "", "fd00::1", "KUBERNETES"}},
			dns: append(slices.Clone(base), "kubernetes.default.svc.corp.example", "api.example.com", "*.apps.example.com"),
			ips: []string{"127.0.0.1", "10.96.0.1", "192.168.1.5", "fd00::1"}},
		{name: "bind address not an IP", cfg: pki.ServerPKIConfig{Hostname: "h", BindAddress: "myhost"}, wantErr: "not an IP"},
		{name: "bad extra SAN", cfg: pki.ServerPKIConfig{Hostname: "h", ExtraSANs: []string{"https://x"}}, wantErr: "not allowed"},
		{name: "bad wildcard", cfg: pki.ServerPKIConfig{Hostname: "h", ExtraSANs: []string{"a.*.example"}}, wantErr: "wildcard"},
		{name: "empty label", cfg: pki.ServerPKIConfig{Hostname: "h", ExtraSANs: []string{"a..b"}}, wantErr: "empty label"},
		{name: "bad hostname", cfg: pki.ServerPKIConfig{Hostname: "my host"}, wantErr: "hostname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := pki.APIServerSANs(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.DNSNames, tt.dns) {
				t.Errorf("DNS = %v, want %v", s.DNSNames, tt.dns)
			}
			var ips []string
			for _, ip := range s.IPs {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.ips) {
				t.Errorf("IPs = %v, want %v", ips, tt.ips)
			}
		})
	}
}

func TestAPIServerSANsDefaultHostname(t *testing.T) {
	s, err := pki.APIServerSANs(pki.ServerPKIConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.DNSNames) < 5 || s.DNSNames[4] != "kubernetes.default.svc.cluster.local" {
		t.Errorf("DNS = %v", s.DNSNames)
	}
}

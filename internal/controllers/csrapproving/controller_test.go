package csrapproving

import (
	"crypto/x509"
	"net"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestForeignSANs(t *testing.T) {
	node := &corev1.Node{Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeHostName, Address: "Worker-1"},
		{Type: corev1.NodeInternalDNS, Address: "worker-1.internal"},
		{Type: corev1.NodeInternalIP, Address: "10.0.0.5"},
		{Type: corev1.NodeExternalIP, Address: "2001:db8::5"},
	}}}
	for _, tt := range []struct {
		name string
		dns  []string
		ips  []string
		want []string
	}{
		{"own names and addresses", []string{"worker-1", "worker-1.internal"}, []string{"10.0.0.5", "2001:db8:0::5"}, nil},
		{"a foreign name", []string{"worker-1", "kubernetes.default"}, nil, []string{"kubernetes.default"}},
		{"a foreign address", nil, []string{"10.0.0.6"}, []string{"10.0.0.6"}},
		{"an IP as a DNS name", []string{"10.0.0.5"}, nil, []string{"10.0.0.5"}},
	} {
		req := &x509.CertificateRequest{DNSNames: tt.dns}
		for _, ip := range tt.ips {
			req.IPAddresses = append(req.IPAddresses, net.ParseIP(ip))
		}
		if got := foreignSANs(req, node); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

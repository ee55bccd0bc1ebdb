package apiserver

import (
	"slices"
	"testing"
)

// TestEnsurePKIServingSANs checks the serving certificate names what
// clients dial: the `kubernetes` Service's cluster IP of the configured
// range and an explicit advertise address.
func TestEnsurePKIServingSANs(t *testing.T) {
	for _, tc := range []struct {
		name, serviceRange, advertise string
		want                          []string
	}{
		{name: "defaults", want: []string{"10.96.0.1", "127.0.0.1"}},
		{name: "custom range and advertise", serviceRange: "10.0.0.0/24,fd00::/112", advertise: "192.0.2.10",
			want: []string{"10.0.0.1", "192.0.2.10", "127.0.0.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{DataDir: t.TempDir(), BindAddress: "127.0.0.1", ServiceClusterIPRange: tc.serviceRange,
				AdvertiseAddress: tc.advertise}
			p, err := EnsurePKI(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ip := range p.Serving.Cert.IPAddresses {
				got = append(got, ip.String())
			}
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("serving certificate IP SANs %v lack %s", got, w)
				}
			}
			// Started again with the same flags, the pair is reused.
			again, err := EnsurePKI(cfg)
			if err != nil {
				t.Fatalf("second start: %v", err)
			}
			if !again.Serving.Cert.Equal(p.Serving.Cert) {
				t.Error("second start issued a new serving certificate")
			}
		})
	}
	if _, err := ServingPKIConfig(Config{DataDir: t.TempDir(), AdvertiseAddress: "not-an-ip"}); err == nil {
		t.Error("an invalid --advertise-address was accepted")
	}
	if _, err := ServingPKIConfig(Config{DataDir: t.TempDir(), ServiceClusterIPRange: "10.0.0.1/24"}); err == nil {
		t.Error("a service range that is not a network address was accepted")
	}
}

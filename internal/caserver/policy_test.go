package caserver

import (
	"crypto/x509"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		p, v string
		want bool
	}{
		{"*", "", true},
		{"*", "anything/at.all", true},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"web-?", "web-1", true},
		{"web-?", "web-12", false},
		{"spiffe://cluster/ns/*/sa/*", "spiffe://cluster/ns/a/sa/b", true},
		{"a*b*c", "abxbxc", true},
		{"a*b*c", "abxbx", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	}
	for _, tt := range tests {
		if got := glob(tt.p, tt.v); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.p, tt.v, got, tt.want)
		}
	}
}

const testPolicy = `
identities:
  web-deployer:
    profiles: [server]
    commonNames: ["*.web.example.com"]
    sans: ["*.web.example.com", "10.0.*"]
    maxLifetime: 24h
  ci:
    profiles: [client, short]
    commonNames: ["ci-*"]
    sans: []
    organizations: ["ci-group"]
signing:
  profiles:
    short:
      expiry: 1h
      usages: [signing, client auth]
`

func TestAuthorize(t *testing.T) {
	p, err := ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	spec := func(cn string, sans ...string) pki.CertSpec {
		s := pki.CertSpec{CommonName: cn}
		for _, v := range sans {
			switch {
			case net.ParseIP(v) != nil:
				s.IPs = append(s.IPs, net.ParseIP(v))
			case strings.Contains(v, "://"):
				u, _ := url.Parse(v)
				s.URIs = append(s.URIs, u)
			default:
				s.DNSNames = append(s.DNSNames, v)
			}
		}
		return s
	}
	tests := []struct {
		name, id, profile string
		spec              pki.CertSpec
		want              string // "" = allowed; "denied" = 403; else 400 text
		validity          time.Duration
	}{
		{"allowed, lifetime capped", "web-deployer", "server", spec("a.web.example.com", "A.web.example.com", "10.0.0.5"), "", 24 * time.Hour},
		{"wrong profile", "web-deployer", "client", spec("a.web.example.com"), "denied", 0},
		{"wrong CN", "web-deployer", "server", spec("evil.example.com"), "denied", 0},
		{"wrong SAN", "web-deployer", "server", spec("a.web.example.com", "evil.com"), "denied", 0},
		{"wrong IP", "web-deployer", "server", spec("a.web.example.com", "192.168.0.1"), "denied", 0},
		{"no SANs allowed", "ci", "client", spec("ci-1", "x.example.com"), "denied", 0},
		{"policy profile", "ci", "short", spec("ci-1"), "", time.Hour},
		{"unknown identity", "mallory", "client", spec("ci-1"), "denied", 0},
		{"unknown profile", "ci", "nope", spec("ci-1"), "unknown profile", 0},
		{"default profile", "ci", "", spec("ci-1"), "denied", 0}, // peer is not in ci's list
		{"allowed group", "ci", "client", withOrg(spec("ci-1"), "ci-group"), "", 365 * 24 * time.Hour},
		{"escalating group", "ci", "client", withOrg(spec("ci-1"), "system:masters"), "denied", 0},
		{"no groups allowed", "web-deployer", "server", withOrg(spec("a.web.example.com"), "x"), "denied", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := p.Authorize(tt.id, tt.profile, tt.spec)
			switch tt.want {
			case "":
				if err != nil {
					t.Fatal(err)
				}
				if out.Validity != tt.validity {
					t.Errorf("validity %v, want %v", out.Validity, tt.validity)
				}
			case "denied":
				pe, ok := err.(*PolicyError)
				if !ok || !pe.Denied {
					t.Fatalf("want a denial, got %v", err)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want %q", err, tt.want)
				}
			}
		})
	}
	admin := DefaultPolicy()
	out, err := admin.Authorize(AdminIdentity, "ca", spec("sub-ca"))
	if err != nil || !out.IsCA {
		t.Fatalf("admin sub-CA: %+v %v", out, err)
	}
	if !admin.MayRevoke(AdminIdentity, "someone") || admin.MayRevoke("someone", "other") || !admin.MayRevoke("x", "x") {
		t.Error("MayRevoke")
	}
	_ = x509.ExtKeyUsageAny
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"empty", `{}`, "no \"identities\""},
		{"unknown field", `identities: {a: {profile: [server]}}`, "unknown field"},
		{"unknown profile", `identities: {a: {profiles: [serve]}}`, `unknown profile "serve"`},
		{"bad lifetime", `identities: {a: {profiles: [server], maxLifetime: 1d}}`, `maxLifetime "1d"`},
		{"bad signing", `{identities: {a: {profiles: ["*"]}}, signing: {profiles: {x: {usages: [flying]}}}}`, `unknown usage "flying"`},
		{"not yaml", "identities: [", "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// withOrg adds organizations (Kubernetes groups) to a spec.
func withOrg(s pki.CertSpec, orgs ...string) pki.CertSpec {
	s.Organization = append(s.Organization, orgs...)
	return s
}

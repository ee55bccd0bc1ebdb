package pki

import (
	"crypto/x509"
	"fmt"
	"slices"
	"time"
)

// ProfileName names a signing profile.
type ProfileName string

// The built-in signing profiles, with cfssl's names for the etcd ones.
const (
	ProfileCA     ProfileName = "ca"     // a certificate authority
	ProfileServer ProfileName = "server" // TLS servers
	ProfileClient ProfileName = "client" // TLS clients
	ProfilePeer   ProfileName = "peer"   // both ends, as etcd peers are
)

// Validity periods used by the built-in profiles (kubeadm's defaults).
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	LeafValidity = 365 * 24 * time.Hour
)

// Profile is a signing policy: what a certificate may be used for and how
// long it lives. It is data, like a profile in cfssl's ca-config.json.
type Profile struct {
	// IsCA marks a CA profile: key usage certSign|CRLSign|digitalSignature,
	// basic constraints CA:TRUE.
	IsCA bool
	// Usages are the extended key usages of an end-entity certificate.
	Usages []x509.ExtKeyUsage
	// Expiry is the certificate's validity period from issue.
	Expiry time.Duration
	// KeyUsage, if not zero, replaces the default key usage bits
	// (cfssl's "signing", "key encipherment", …).
	KeyUsage x509.KeyUsage
	// MaxPathLen and MaxPathLenZero constrain a CA profile's path length
	// (cfssl's ca_constraint); see CertSpec.
	MaxPathLen     int
	MaxPathLenZero bool
	// OCSPServers, CRLDistributionPoints and IssuingCertificateURL are
	// written into issued certificates (AIA and CDP extensions).
	OCSPServers           []string
	CRLDistributionPoints []string
	IssuingCertificateURL []string
}

// Profiles returns the built-in signing profiles. Each call returns a new
// map, so callers may add or override entries (e.g. from a cfssl-style
// config) without affecting anyone else.
func Profiles() map[ProfileName]Profile {
	return map[ProfileName]Profile{
		ProfileCA:     {IsCA: true, Expiry: CAValidity},
		ProfileServer: {Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Expiry: LeafValidity},
		ProfileClient: {Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Expiry: LeafValidity},
		ProfilePeer: {Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			Expiry: LeafValidity},
	}
}

// Validate checks that a profile can issue anything.
func (p Profile) Validate() error {
	if p.Expiry <= 0 {
		return fmt.Errorf("expiry must be positive, got %v", p.Expiry)
	}
	if !p.IsCA && len(p.Usages) == 0 {
		return fmt.Errorf("an end-entity profile needs at least one extended key usage")
	}
	return nil
}

// Spec makes the CertSpec this profile issues for a subject; SANs are
// added by the caller.
func (p Profile) Spec(cn string, orgs []string) CertSpec {
	return CertSpec{
		CommonName:   cn,
		Organization: append([]string(nil), orgs...),
		Usages:       append([]x509.ExtKeyUsage(nil), p.Usages...),
		Validity:     p.Expiry,
		IsCA:         p.IsCA,
		KeyUsage:     p.KeyUsage,

		MaxPathLen:     p.MaxPathLen,
		MaxPathLenZero: p.MaxPathLenZero,

		OCSPServers:           slices.Clone(p.OCSPServers),
		CRLDistributionPoints: slices.Clone(p.CRLDistributionPoints),
		IssuingCertificateURL: slices.Clone(p.IssuingCertificateURL),
	}
}

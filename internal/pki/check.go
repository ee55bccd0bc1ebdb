package pki

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CheckCert reports whether an existing certificate still is what spec asks
// for, so it can be reused:
//   - key, if not nil, is the private half of cert (else ErrKeyMismatch);
//   - issuer, if not nil, signed cert (else ErrNotSignedByCA);
//   - now is within the validity period (else ErrExpired);
//   - CN and the set of O equal spec's, a CA is a CA, every requested
//     extended usage and every requested SAN is present (else
//     ErrIdentityDrift). SANs beyond the requested ones are tolerated: the
//     certificate still proves every identity it must.
//
// The key type and size are not identity: a certificate made with another
// KeyAlgorithm is reused. The error says what differs and with what value.
func CheckCert(cert *x509.Certificate, key crypto.Signer, issuer *x509.Certificate, spec CertSpec, now time.Time) error {
	if key != nil && !keyMatches(key, cert.PublicKey) {
		return fmt.Errorf("%w (certificate %q)", ErrKeyMismatch, cert.Subject.CommonName)
	}
	if issuer != nil {
		if err := cert.CheckSignatureFrom(issuer); err != nil {
			return fmt.Errorf("%w %q: certificate %q has issuer %q: %v", ErrNotSignedByCA,
				issuer.Subject.CommonName, cert.Subject.CommonName, cert.Issuer.CommonName, err)
		}
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("%w: certificate %q is valid from %s to %s, now is %s", ErrExpired, cert.Subject.CommonName,
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339),
			now.UTC().Format(time.RFC3339))
	}
	if cert.Subject.CommonName != spec.CommonName {
		return fmt.Errorf("%w: common name is %q, want %q", ErrIdentityDrift, cert.Subject.CommonName, spec.CommonName)
	}
	if !sameSet(cert.Subject.Organization, spec.Organization) {
		return fmt.Errorf("%w: certificate %q has organization %q, want %q", ErrIdentityDrift,
			spec.CommonName, cert.Subject.Organization, spec.Organization)
	}
	if spec.IsCA && !(cert.IsCA && cert.KeyUsage&x509.KeyUsageCertSign != 0) {
		return fmt.Errorf("%w: certificate %q is not a CA (basic constraints CA:TRUE and keyCertSign needed)",
			ErrIdentityDrift, spec.CommonName)
	}
	for _, u := range spec.Usages {
		if !slices.Contains(cert.ExtKeyUsage, u) && !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageAny) {
			return fmt.Errorf("%w: certificate %q lacks extended key usage %s", ErrIdentityDrift,
				spec.CommonName, extKeyUsageName(u))
		}
	}
	if missing := missingSANs(cert, spec); len(missing) > 0 {
		return fmt.Errorf("%w: certificate %q lacks requested SAN(s) %s (it has %s)", ErrIdentityDrift,
			spec.CommonName, strings.Join(missing, ", "), strings.Join(certSANs(cert), ", "))
	}
	return nil
}

// missingSANs lists the requested SANs cert does not carry.
func missingSANs(cert *x509.Certificate, spec CertSpec) []string {
	var missing []string
	for _, d := range spec.DNSNames {
		if !slices.ContainsFunc(cert.DNSNames, func(have string) bool { return strings.EqualFold(have, d) }) {
			missing = append(missing, "DNS:"+d)
		}
	}
	for _, ip := range spec.IPs {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			missing = append(missing, "IP:"+ip.String())
		}
	}
	return missing
}

// certSANs renders a certificate's SANs as openssl does.
func certSANs(cert *x509.Certificate) []string {
	var out []string
	for _, d := range cert.DNSNames {
		out = append(out, "DNS:"+d)
	}
	for _, ip := range cert.IPAddresses {
		out = append(out, "IP:"+ip.String())
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// sameSet compares two string lists ignoring order and duplicates.
func sameSet(a, b []string) bool {
	return slices.Equal(uniqSorted(a), uniqSorted(b))
}

// uniqSorted returns a sorted copy of s without duplicates.
func uniqSorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}

// extKeyUsageName names the usages kastle issues the way openssl does.
func extKeyUsageName(u x509.ExtKeyUsage) string {
	switch u {
	case x509.ExtKeyUsageServerAuth:
		return "serverAuth"
	case x509.ExtKeyUsageClientAuth:
		return "clientAuth"
	case x509.ExtKeyUsageCodeSigning:
		return "codeSigning"
	case x509.ExtKeyUsageAny:
		return "any"
	}
	return fmt.Sprintf("extKeyUsage(%d)", int(u))
}

package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// DefaultCfsslExpiry is the expiry of a cfssl profile that names none,
// cfssl's own default (one week).
const DefaultCfsslExpiry = 168 * time.Hour

// SigningConfig is the signing policy of a cfssl ca-config.json, turned
// into Profiles. It is validated once, when parsed.
type SigningConfig struct {
	// Default is used when no profile is named.
	Default Profile
	// Profiles are the named profiles.
	Profiles map[ProfileName]Profile
}

// cfsslConfigFile is the JSON shape of ca-config.json.
type cfsslConfigFile struct {
	Signing *struct {
		Default  *cfsslProfile           `json:"default"`
		Profiles map[string]cfsslProfile `json:"profiles"`
	} `json:"signing"`
	// cfssl's remote-signer authentication; kastle authenticates callers
	// itself (mTLS or tokens), so these are accepted and not used.
	AuthKeys json.RawMessage `json:"auth_keys,omitempty"`
	Remotes  json.RawMessage `json:"remotes,omitempty"`
}

// cfsslProfile is one profile of ca-config.json.
type cfsslProfile struct {
	Usages []string `json:"usages"`
	Expiry string   `json:"expiry"`
	// Where relying parties find revocation and issuer information; written
	// into every certificate of the profile.
	OCSPURL    string   `json:"ocsp_url,omitempty"`
	CRLURL     string   `json:"crl_url,omitempty"`
	IssuerURLs []string `json:"issuer_urls,omitempty"`
	// Remote-signer settings, accepted and not used (see auth_keys).
	AuthKey      string `json:"auth_key,omitempty"`
	Remote       string `json:"remote,omitempty"`
	AuthRemote   any    `json:"auth_remote,omitempty"`
	CAConstraint *struct {
		IsCA           bool `json:"is_ca"`
		MaxPathLen     int  `json:"max_path_len"`
		MaxPathLenZero bool `json:"max_path_len_zero"`
	} `json:"ca_constraint"`
}

// keyUsageNames maps cfssl's usage strings to key usage bits.
var keyUsageNames = map[string]x509.KeyUsage{
	"signing":            x509.KeyUsageDigitalSignature,
	"digital signature":  x509.KeyUsageDigitalSignature,
	"content commitment": x509.KeyUsageContentCommitment,
	"key encipherment":   x509.KeyUsageKeyEncipherment,
	"key agreement":      x509.KeyUsageKeyAgreement,
	"data encipherment":  x509.KeyUsageDataEncipherment,
	"cert sign":          x509.KeyUsageCertSign,
	"crl sign":           x509.KeyUsageCRLSign,
	"encipher only":      x509.KeyUsageEncipherOnly,
	"decipher only":      x509.KeyUsageDecipherOnly,
}

// extKeyUsageNames maps cfssl's usage strings to extended key usages.
var extKeyUsageNames = map[string]x509.ExtKeyUsage{
	"any":              x509.ExtKeyUsageAny,
	"server auth":      x509.ExtKeyUsageServerAuth,
	"client auth":      x509.ExtKeyUsageClientAuth,
	"code signing":     x509.ExtKeyUsageCodeSigning,
	"email protection": x509.ExtKeyUsageEmailProtection,
	"s/mime":           x509.ExtKeyUsageEmailProtection,
	"ipsec end system": x509.ExtKeyUsageIPSECEndSystem,
	"ipsec tunnel":     x509.ExtKeyUsageIPSECTunnel,
	"ipsec user":       x509.ExtKeyUsageIPSECUser,
	"timestamping":     x509.ExtKeyUsageTimeStamping,
	"ocsp signing":     x509.ExtKeyUsageOCSPSigning,
	"microsoft sgc":    x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscape sgc":     x509.ExtKeyUsageNetscapeServerGatedCrypto,
}

// usageNames lists every accepted usage string, for error messages.
func usageNames() []string {
	var out []string
	for k := range keyUsageNames {
		out = append(out, k)
	}
	for k := range extKeyUsageNames {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ParseSigningConfig reads a cfssl ca-config.json. Unknown fields are
// rejected (a typo must not silently widen a policy), every usage must be
// one cfssl knows, every expiry a positive Go duration ("8760h"), and
// every resulting profile must be able to issue.
func ParseSigningConfig(data []byte) (*SigningConfig, error) {
	var f cfsslConfigFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("pki: ca-config: %w", err)
	}
	if f.Signing == nil {
		return nil, errors.New(`pki: ca-config: no "signing" section`)
	}
	cfg := &SigningConfig{Profiles: map[ProfileName]Profile{}}
	defExpiry := DefaultCfsslExpiry
	if d := f.Signing.Default; d != nil {
		p, err := d.profile(DefaultCfsslExpiry, "default")
		if err != nil {
			return nil, err
		}
		defExpiry = p.Expiry
		cfg.Default = p
	} else {
		cfg.Default = Profile{Expiry: DefaultCfsslExpiry}
	}
	names := make([]string, 0, len(f.Signing.Profiles))
	for n := range f.Signing.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n == "" {
			return nil, errors.New("pki: ca-config: a profile has an empty name")
		}
		cp := f.Signing.Profiles[n]
		p, err := cp.profile(defExpiry, "profile "+n)
		if err != nil {
			return nil, err
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("pki: ca-config: profile %s: %w", n, err)
		}
		cfg.Profiles[ProfileName(n)] = p
	}
	return cfg, nil
}

// profile converts one cfssl profile; what names it in errors.
func (c cfsslProfile) profile(defExpiry time.Duration, what string) (Profile, error) {
	p := Profile{Expiry: defExpiry}
	if c.Expiry != "" {
		d, err := time.ParseDuration(c.Expiry)
		if err != nil || d <= 0 {
			return Profile{}, fmt.Errorf("pki: ca-config: %s: expiry %q is not a positive duration such as \"8760h\"", what, c.Expiry)
		}
		p.Expiry = d
	}
	for _, u := range c.Usages {
		name := strings.ToLower(strings.TrimSpace(u))
		if ku, ok := keyUsageNames[name]; ok {
			p.KeyUsage |= ku
			continue
		}
		if eku, ok := extKeyUsageNames[name]; ok {
			if !slices.Contains(p.Usages, eku) {
				p.Usages = append(p.Usages, eku)
			}
			continue
		}
		return Profile{}, fmt.Errorf("pki: ca-config: %s: unknown usage %q (known: %s)", what, u, strings.Join(usageNames(), ", "))
	}
	for _, u := range append([]string{c.OCSPURL, c.CRLURL}, c.IssuerURLs...) {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return Profile{}, fmt.Errorf("pki: ca-config: %s: %q is not an http(s) URL", what, u)
		}
	}
	if c.OCSPURL != "" {
		p.OCSPServers = []string{c.OCSPURL}
	}
	if c.CRLURL != "" {
		p.CRLDistributionPoints = []string{c.CRLURL}
	}
	p.IssuingCertificateURL = slices.Clone(c.IssuerURLs)
	if cc := c.CAConstraint; cc != nil {
		if !cc.IsCA && (cc.MaxPathLen != 0 || cc.MaxPathLenZero) {
			return Profile{}, fmt.Errorf("pki: ca-config: %s: ca_constraint sets a path length but is_ca is false", what)
		}
		if cc.MaxPathLen < 0 {
			return Profile{}, fmt.Errorf("pki: ca-config: %s: max_path_len must not be negative, got %d", what, cc.MaxPathLen)
		}
		p.IsCA = cc.IsCA
		p.MaxPathLen, p.MaxPathLenZero = cc.MaxPathLen, cc.MaxPathLenZero
	}
	return p, nil
}

// Profile returns the named profile, or the default one for "".
func (c *SigningConfig) Profile(name string) (Profile, error) {
	if name == "" {
		if err := c.Default.Validate(); err != nil {
			return Profile{}, fmt.Errorf("pki: default signing profile: %w; name a profile", err)
		}
		return c.Default, nil
	}
	p, ok := c.Profiles[ProfileName(name)]
	if !ok {
		var known []string
		for n := range c.Profiles {
			known = append(known, string(n))
		}
		sort.Strings(known)
		return Profile{}, fmt.Errorf("pki: unknown signing profile %q (known: %s)", name, strings.Join(known, ", "))
	}
	return p, nil
}

// CSRRequest is cfssl's csr.json: the subject, hosts and key of a
// certificate to request.
type CSRRequest struct {
	CN    string         `json:"CN"`
	Names []CSRName      `json:"names,omitempty"`
	Hosts []string       `json:"hosts,omitempty"`
	Key   *CSRKeyRequest `json:"key,omitempty"`
	// CA is cfssl's optional CA section of initca; only expiry is used.
	CA *struct {
		Expiry     string `json:"expiry,omitempty"`
		PathLength int    `json:"pathlen,omitempty"`
	} `json:"ca,omitempty"`
}

// CSRName is one element of csr.json's "names".
type CSRName struct {
	C  string `json:"C,omitempty"`
	ST string `json:"ST,omitempty"`
	L  string `json:"L,omitempty"`
	O  string `json:"O,omitempty"`
	OU string `json:"OU,omitempty"`
}

// CSRKeyRequest is csr.json's "key".
type CSRKeyRequest struct {
	Algo string `json:"algo"`
	Size int    `json:"size,omitempty"`
}

// ParseCSRRequest reads and validates a cfssl csr.json.
func ParseCSRRequest(data []byte) (*CSRRequest, error) {
	var r CSRRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("pki: csr.json: %w", err)
	}
	if strings.TrimSpace(r.CN) == "" {
		return nil, errors.New(`pki: csr.json: "CN" is empty`)
	}
	if _, err := r.KeyAlgorithm(); err != nil {
		return nil, err
	}
	if _, err := ParseHosts(r.Hosts); err != nil {
		return nil, fmt.Errorf("pki: csr.json hosts: %w", err)
	}
	return &r, nil
}

// KeyAlgorithm maps "key" to a KeyAlgorithm: ecdsa 256/384, rsa
// 2048/3072/4096, ed25519; absent means ECDSA P-256 (cfssl's default).
func (r *CSRRequest) KeyAlgorithm() (KeyAlgorithm, error) {
	if r.Key == nil || r.Key.Algo == "" && r.Key.Size == 0 {
		return ECDSAP256, nil
	}
	switch strings.ToLower(r.Key.Algo) {
	case "ecdsa", "":
		switch r.Key.Size {
		case 0, 256:
			return ECDSAP256, nil
		case 384:
			return ECDSAP384, nil
		}
	case "rsa":
		switch r.Key.Size {
		case 0, 2048:
			return RSA2048, nil
		case 3072:
			return RSA3072, nil
		case 4096:
			return RSA4096, nil
		}
	case "ed25519":
		if r.Key.Size == 0 || r.Key.Size == 256 {
			return Ed25519, nil
		}
	default:
		return "", fmt.Errorf("pki: csr.json: key algo %q unsupported (ecdsa, rsa, ed25519)", r.Key.Algo)
	}
	return "", fmt.Errorf("pki: csr.json: key size %d unsupported for %s (ecdsa: 256, 384; rsa: 2048, 3072, 4096)",
		r.Key.Size, r.Key.Algo)
}

// Spec turns the request into profile p's CertSpec: CN, every name's
// C/ST/L/O/OU, and hosts as SANs.
func (r *CSRRequest) Spec(p Profile) (CertSpec, error) {
	s := p.Spec(r.CN, nil)
	for _, n := range r.Names {
		add := func(dst *[]string, v string) {
			if v != "" {
				*dst = append(*dst, v)
			}
		}
		add(&s.Country, n.C)
		add(&s.Province, n.ST)
		add(&s.Locality, n.L)
		add(&s.Organization, n.O)
		add(&s.OrganizationalUnit, n.OU)
	}
	sans, err := ParseHosts(r.Hosts)
	if err != nil {
		return CertSpec{}, fmt.Errorf("pki: csr.json hosts: %w", err)
	}
	s.DNSNames, s.IPs, s.URIs, s.EmailAddresses = sans.DNSNames, sans.IPs, sans.URIs, sans.Emails
	return s, s.Validate()
}

// CAExpiry is the validity initca gives a new CA: the "ca" section's
// expiry, or CAValidity.
func (r *CSRRequest) CAExpiry() (time.Duration, error) {
	if r.CA == nil || r.CA.Expiry == "" {
		return CAValidity, nil
	}
	d, err := time.ParseDuration(r.CA.Expiry)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("pki: csr.json: ca expiry %q is not a positive duration such as \"87600h\"", r.CA.Expiry)
	}
	return d, nil
}

package caserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kastle-dev/kastle/internal/pki"
)

// AdminIdentity is the client identity created on first start; the default
// policy lets it do anything.
const AdminIdentity = "client-admin"

// DefaultProfile is used when a request names none: usable by servers and
// clients alike, as the seed's certificates were.
const DefaultProfile = pki.ProfilePeer

// Policy decides who may request what. It is loaded once and not changed.
type Policy struct {
	// Identities maps a client-certificate CN or token name to its rule.
	Identities map[string]Rule
	// Profiles are the signing profiles requests may name.
	Profiles map[pki.ProfileName]pki.Profile
}

// Rule is what one identity may do.
type Rule struct {
	// Profiles it may request; "*" means all.
	Profiles []string `json:"profiles"`
	// CommonNames are glob patterns ('*' any run of characters, '?' one)
	// the requested CN must match; empty means none is allowed.
	CommonNames []string `json:"commonNames"`
	// SANs are glob patterns every requested SAN must match (DNS names and
	// emails case-insensitively, IPs in their text form, URIs whole).
	SANs []string `json:"sans"`
	// Organizations are glob patterns every requested O must match; empty
	// means none may be asked for. O is a group to Kubernetes (system:masters),
	// so it is an identity like the CN, not decoration.
	Organizations []string `json:"organizations,omitempty"`
	// MaxLifetime caps the validity, e.g. "24h"; empty means the profile's.
	MaxLifetime string `json:"maxLifetime,omitempty"`
	// Revoke lets the identity revoke certificates others requested; anyone
	// may revoke their own.
	Revoke bool `json:"revoke,omitempty"`

	maxLifetime time.Duration
}

// policyFile is the on-disk shape, YAML or JSON.
type policyFile struct {
	Identities map[string]Rule `json:"identities"`
	// Signing optionally adds or overrides profiles, in cfssl's
	// ca-config.json "signing" shape.
	Signing json.RawMessage `json:"signing,omitempty"`
}

// DefaultPolicy lets AdminIdentity request anything with the built-in
// profiles, and nobody else anything.
func DefaultPolicy() *Policy {
	return &Policy{
		Identities: map[string]Rule{AdminIdentity: {Profiles: []string{"*"}, CommonNames: []string{"*"},
			SANs: []string{"*"}, Organizations: []string{"*"}, Revoke: true}},
		Profiles: pki.Profiles(),
	}
}

// LoadPolicy reads a policy file (YAML or JSON); unknown fields are errors.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("caserver: policy: %w", err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("caserver: policy %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy parses and validates a policy document.
func ParsePolicy(data []byte) (*Policy, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var f policyFile
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if len(f.Identities) == 0 {
		return nil, errors.New(`no "identities": nobody could request anything`)
	}
	p := &Policy{Identities: map[string]Rule{}, Profiles: pki.Profiles()}
	if len(f.Signing) > 0 {
		cfg, err := pki.ParseSigningConfig(append(append([]byte(`{"signing":`), f.Signing...), '}'))
		if err != nil {
			return nil, err
		}
		for n, prof := range cfg.Profiles {
			p.Profiles[n] = prof
		}
	}
	for id, r := range f.Identities {
		if id == "" {
			return nil, errors.New("an identity has an empty name")
		}
		for _, prof := range r.Profiles {
			if _, ok := p.Profiles[pki.ProfileName(prof)]; !ok && prof != "*" {
				return nil, fmt.Errorf("identity %q: unknown profile %q (known: %s)", id, prof, strings.Join(p.profileNames(), ", "))
			}
		}
		if r.MaxLifetime != "" {
			d, err := time.ParseDuration(r.MaxLifetime)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("identity %q: maxLifetime %q is not a positive duration such as \"24h\"", id, r.MaxLifetime)
			}
			r.maxLifetime = d
		}
		p.Identities[id] = r
	}
	return p, nil
}

// profileNames lists the profiles, sorted.
func (p *Policy) profileNames() []string {
	var out []string
	for n := range p.Profiles {
		out = append(out, string(n))
	}
	sort.Strings(out)
	return out
}

// PolicyError is a request the policy refuses (HTTP 403, gRPC
// PermissionDenied) or cannot serve (unknown profile: 400).
type PolicyError struct {
	Denied bool
	Msg    string
}

// Error implements error.
func (e *PolicyError) Error() string { return e.Msg }

// Authorize decides whether identity may have spec issued under the named
// profile. On success it returns spec with usages and lifetime of the
// profile, capped by the rule's MaxLifetime.
func (p *Policy) Authorize(identity, profile string, spec pki.CertSpec) (pki.CertSpec, error) {
	if profile == "" {
		profile = string(DefaultProfile)
	}
	prof, ok := p.Profiles[pki.ProfileName(profile)]
	if !ok {
		return pki.CertSpec{}, &PolicyError{Msg: fmt.Sprintf("unknown profile %q (known: %s)", profile,
			strings.Join(p.profileNames(), ", "))}
	}
	r, ok := p.Identities[identity]
	if !ok {
		return pki.CertSpec{}, &PolicyError{Denied: true, Msg: fmt.Sprintf("identity %q may not request certificates", identity)}
	}
	if !slices.Contains(r.Profiles, "*") && !slices.Contains(r.Profiles, profile) {
		return pki.CertSpec{}, &PolicyError{Denied: true, Msg: fmt.Sprintf("identity %q may not use profile %q (allowed: %s)",
			identity, profile, strings.Join(r.Profiles, ", "))}
	}
	if !matchAny(r.CommonNames, spec.CommonName, false) {
		return pki.CertSpec{}, &PolicyError{Denied: true, Msg: fmt.Sprintf("identity %q may not request common name %q",
			identity, spec.CommonName)}
	}
	for _, o := range spec.Organization {
		if !matchAny(r.Organizations, o, false) {
			return pki.CertSpec{}, &PolicyError{Denied: true, Msg: fmt.Sprintf("identity %q may not request organization %q",
				identity, o)}
		}
	}
	for _, san := range sanStrings(spec) {
		kind, v, _ := strings.Cut(san, ":")
		if !matchAny(r.SANs, v, kind == "DNS" || kind == "email") {
			return pki.CertSpec{}, &PolicyError{Denied: true, Msg: fmt.Sprintf("identity %q may not request SAN %s", identity, san)}
		}
	}
	out := spec
	out.Usages = slices.Clone(prof.Usages)
	out.KeyUsage = prof.KeyUsage
	out.IsCA = prof.IsCA
	out.MaxPathLen, out.MaxPathLenZero = prof.MaxPathLen, prof.MaxPathLenZero
	out.OCSPServers = slices.Clone(prof.OCSPServers)
	out.CRLDistributionPoints = slices.Clone(prof.CRLDistributionPoints)
	out.IssuingCertificateURL = slices.Clone(prof.IssuingCertificateURL)
	out.Validity = prof.Expiry
	if r.maxLifetime > 0 && r.maxLifetime < out.Validity {
		out.Validity = r.maxLifetime
	}
	return out, nil
}

// MayRevoke reports whether identity may revoke a certificate requested
// by requester.
func (p *Policy) MayRevoke(identity, requester string) bool {
	if identity == requester {
		return true
	}
	r, ok := p.Identities[identity]
	return ok && r.Revoke
}

// sanStrings renders spec's SANs as "DNS:x", "IP:x", "URI:x", "email:x".
func sanStrings(spec pki.CertSpec) []string {
	var out []string
	for _, d := range spec.DNSNames {
		out = append(out, "DNS:"+d)
	}
	for _, ip := range spec.IPs {
		out = append(out, "IP:"+ip.String())
	}
	for _, u := range spec.URIs {
		out = append(out, "URI:"+u.String())
	}
	for _, e := range spec.EmailAddresses {
		out = append(out, "email:"+e)
	}
	return out
}

// matchAny reports whether v matches one of the glob patterns.
func matchAny(patterns []string, v string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if glob(strings.ToLower(p), strings.ToLower(v)) {
				return true
			}
		} else if glob(p, v) {
			return true
		}
	}
	return false
}

// glob matches v against p, where '*' is any run of characters (dots and
// slashes included) and '?' any one character. Iterative, so a hostile
// pattern cannot make it exponential.
func glob(p, v string) bool {
	pi, vi := 0, 0
	star, mark := -1, 0
	for vi < len(v) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == v[vi]):
			pi++
			vi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, vi
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			vi = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

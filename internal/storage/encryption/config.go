package encryption

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// ConfigAPIVersion and ConfigKind identify an encryption configuration.
const (
	ConfigAPIVersion = "apiserver.config.k8s.io/v1"
	ConfigKind       = "EncryptionConfiguration"
)

// EncryptionConfiguration mirrors apiserver.config.k8s.io/v1
// EncryptionConfiguration.
type EncryptionConfiguration struct {
	Kind       string                  `json:"kind"`
	APIVersion string                  `json:"apiVersion"`
	Resources  []ResourceConfiguration `json:"resources"`
}

// ResourceConfiguration lists resources and the providers that encrypt
// them, the first for writing, all for reading. A resource is "secrets"
// (core group), "<resource>.<group>", "*.<group>", "*." (every core
// resource) or "*.*" (everything).
type ResourceConfiguration struct {
	Resources []string                `json:"resources"`
	Providers []ProviderConfiguration `json:"providers"`
}

// ProviderConfiguration sets exactly one provider.
type ProviderConfiguration struct {
	AESGCM    *KeysConfiguration     `json:"aesgcm,omitempty"`
	AESCBC    *KeysConfiguration     `json:"aescbc,omitempty"`
	Secretbox *KeysConfiguration     `json:"secretbox,omitempty"`
	Identity  *IdentityConfiguration `json:"identity,omitempty"`
	// KMS is recognised only to be refused with a clear error: kastle
	// has no KMS plugin support.
	KMS map[string]any `json:"kms,omitempty"`
}

// KeysConfiguration is the key list of aesgcm, aescbc and secretbox; the
// first key encrypts, all decrypt.
type KeysConfiguration struct {
	Keys []Key `json:"keys"`
}

// Key is a named key; Secret is its base64 (standard encoding) bytes.
type Key struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

// String names the key without its secret, so a Key printed by mistake
// leaks nothing.
func (k Key) String() string { return "key " + k.Name }

// GoString is String, for %#v.
func (k Key) GoString() string { return k.String() }

// IdentityConfiguration is the identity provider: values stored as is.
type IdentityConfiguration struct{}

// Provider names, as they appear in stored prefixes.
const (
	ProviderAESGCM    = "aesgcm"
	ProviderAESCBC    = "aescbc"
	ProviderSecretbox = "secretbox"
	ProviderIdentity  = "identity"
)

// LoadConfig reads and validates the configuration file at path.
func LoadConfig(path string) (*EncryptionConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("encryption config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("encryption config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes a YAML or JSON configuration strictly (unknown
// fields are errors: a misspelt provider must not mean "no encryption")
// and validates it.
func ParseConfig(data []byte) (*EncryptionConfiguration, error) {
	var c EncryptionConfiguration
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("decoding encryption config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks kind and apiVersion, resource names (no duplicates, no
// entry masked by an earlier wildcard), that each provider sets exactly
// one type, and every key: a unique name without ':' and a base64 secret
// of 16, 24 or 32 bytes (aesgcm, aescbc) or 32 bytes (secretbox). Errors
// name the entry and key, never the secret.
func (c *EncryptionConfiguration) Validate() error {
	if c.Kind != ConfigKind {
		return fmt.Errorf("encryption config: kind %q, want %q", c.Kind, ConfigKind)
	}
	if c.APIVersion != ConfigAPIVersion {
		return fmt.Errorf("encryption config: apiVersion %q, want %q", c.APIVersion, ConfigAPIVersion)
	}
	if len(c.Resources) == 0 {
		return fmt.Errorf("encryption config: no resources")
	}
	var seen []resourcePattern
	for i, rc := range c.Resources {
		where := fmt.Sprintf("encryption config resources[%d]", i)
		if len(rc.Resources) == 0 {
			return fmt.Errorf("%s: no resources listed", where)
		}
		for _, r := range rc.Resources {
			p, err := parseResource(r)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			for _, s := range seen {
				if s.covers(p) {
					return fmt.Errorf("%s: resource %q is already matched by %q earlier", where, r, s.raw)
				}
			}
			seen = append(seen, p)
		}
		if len(rc.Providers) == 0 {
			return fmt.Errorf("%s: no providers", where)
		}
		identities := 0
		for j, p := range rc.Providers {
			kind, err := p.validate()
			if err != nil {
				return fmt.Errorf("%s.providers[%d]: %w", where, j, err)
			}
			if kind == ProviderIdentity {
				identities++
			}
		}
		if identities > 1 {
			return fmt.Errorf("%s: identity listed %d times", where, identities)
		}
		if err := uniquePrefixes(rc.Providers); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}

func (p *ProviderConfiguration) validate() (string, error) {
	var kinds []string
	if p.AESGCM != nil {
		kinds = append(kinds, ProviderAESGCM)
	}
	if p.AESCBC != nil {
		kinds = append(kinds, ProviderAESCBC)
	}
	if p.Secretbox != nil {
		kinds = append(kinds, ProviderSecretbox)
	}
	if p.Identity != nil {
		kinds = append(kinds, ProviderIdentity)
	}
	if p.KMS != nil {
		return "", fmt.Errorf("the kms provider is not supported")
	}
	if len(kinds) != 1 {
		return "", fmt.Errorf("a provider must set exactly one of aesgcm, aescbc, secretbox, identity; got %d %v", len(kinds), kinds)
	}
	kind := kinds[0]
	var keys *KeysConfiguration
	sizes := []int{16, 24, 32}
	switch kind {
	case ProviderAESGCM:
		keys = p.AESGCM
	case ProviderAESCBC:
		keys = p.AESCBC
	case ProviderSecretbox:
		keys, sizes = p.Secretbox, []int{32}
	default:
		return kind, nil
	}
	if len(keys.Keys) == 0 {
		return kind, fmt.Errorf("%s: no keys", kind)
	}
	names := map[string]bool{}
	for k, key := range keys.Keys {
		if err := validName(key.Name); err != nil {
			return kind, fmt.Errorf("%s.keys[%d]: %w", kind, k, err)
		}
		if names[key.Name] {
			return kind, fmt.Errorf("%s.keys[%d]: duplicate key name %q", kind, k, key.Name)
		}
		names[key.Name] = true
		if _, err := decodeSecret(key, sizes); err != nil {
			return kind, fmt.Errorf("%s.keys[%d]: %w", kind, k, err)
		}
	}
	return kind, nil
}

func validName(name string) error {
	if name == "" {
		return fmt.Errorf("empty key name")
	}
	if strings.ContainsAny(name, ": \t\r\n") {
		return fmt.Errorf("key name %q contains ':' or white space", name)
	}
	return nil
}

// decodeSecret returns the key bytes, checking their length.
func decodeSecret(k Key, sizes []int) ([]byte, error) {
	if k.Secret == "" {
		return nil, fmt.Errorf("key %q: empty secret", k.Name)
	}
	b, err := base64.StdEncoding.DecodeString(k.Secret)
	if err != nil {
		return nil, fmt.Errorf("key %q: secret is not valid base64", k.Name)
	}
	for _, s := range sizes {
		if len(b) == s {
			return b, nil
		}
	}
	return nil, fmt.Errorf("key %q: secret is %d bytes, want %s", k.Name, len(b), sizeList(sizes))
}

func sizeList(sizes []int) string {
	parts := make([]string, len(sizes))
	for i, s := range sizes {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ", ")
}

// uniquePrefixes rejects two providers of one type in an entry that
// share a key name: their stored values would be indistinguishable.
func uniquePrefixes(ps []ProviderConfiguration) error {
	seen := map[string]bool{}
	for _, p := range ps {
		for _, pair := range []struct {
			kind string
			keys *KeysConfiguration
		}{{ProviderAESGCM, p.AESGCM}, {ProviderAESCBC, p.AESCBC}, {ProviderSecretbox, p.Secretbox}} {
			if pair.keys == nil {
				continue
			}
			for _, k := range pair.keys.Keys {
				prefix := pair.kind + ":" + k.Name
				if seen[prefix] {
					return fmt.Errorf("key name %q is used by two %s providers", k.Name, pair.kind)
				}
				seen[prefix] = true
			}
		}
	}
	return nil
}

// resourcePattern is a parsed resource entry. An empty field is a
// wildcard ("*"); group "" with coreGroup true is the core group.
type resourcePattern struct {
	raw      string
	resource string // "" = any
	group    string
	anyGroup bool
}

func parseResource(r string) (resourcePattern, error) {
	if r == "" || r != strings.ToLower(r) || strings.ContainsAny(r, " /:") {
		return resourcePattern{}, fmt.Errorf("invalid resource %q: want lower-case <resource>[.<group>], *.<group>, *. or *.*", r)
	}
	p := resourcePattern{raw: r}
	res, group, _ := strings.Cut(r, ".")
	switch {
	case res == "*" && group == "*":
		p.anyGroup = true
	case res == "*":
		if !strings.Contains(r, ".") {
			return p, fmt.Errorf("invalid resource %q: use *.* for every resource or *. for the core group", r)
		}
		p.group = group
	case strings.Contains(res, "*") || strings.Contains(group, "*"):
		return p, fmt.Errorf("invalid resource %q: wildcards only as *.<group>, *. or *.*", r)
	default:
		p.resource, p.group = res, group
	}
	return p, nil
}

// matches reports whether the pattern selects group/resource.
func (p resourcePattern) matches(group, resource string) bool {
	if p.anyGroup {
		return true
	}
	return p.group == group && (p.resource == "" || p.resource == resource)
}

// covers reports whether p matches everything q matches.
func (p resourcePattern) covers(q resourcePattern) bool {
	switch {
	case p.anyGroup:
		return true
	case q.anyGroup:
		return false
	case p.group != q.group:
		return false
	default:
		return p.resource == "" || p.resource == q.resource
	}
}

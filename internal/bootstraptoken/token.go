package bootstraptoken

import (
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names and keys of bootstrap token Secrets and of cluster-info.
const (
	SecretType          corev1.SecretType = "bootstrap.kubernetes.io/token"
	SecretPrefix                          = "bootstrap-token-"
	Namespace                             = "kube-system"
	KeyTokenID                            = "token-id"
	KeyTokenSecret                        = "token-secret"
	KeyExpiration                         = "expiration"
	KeyDescription                        = "description"
	KeyExtraGroups                        = "auth-extra-groups"
	UsagePrefix                           = "usage-bootstrap-"
	UsageAuthentication                   = "authentication"
	UsageSigning                          = "signing"

	// ClusterInfoNamespace and ClusterInfoName locate the public
	// cluster-info ConfigMap; KubeconfigKey holds its kubeconfig and
	// JWSKeyPrefix+<token id> the signature for each signing token.
	ClusterInfoNamespace = "kube-public"
	ClusterInfoName      = "cluster-info"
	KubeconfigKey        = "kubeconfig"
	JWSKeyPrefix         = "jws-kubeconfig-"
)

var (
	tokenRE = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)
	idRE    = regexp.MustCompile(`^[a-z0-9]{6}$`)
	groupRE = regexp.MustCompile(`^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$`)
)

// Token is a bootstrap token "<id>.<secret>".
type Token struct {
	ID, Secret string
}

// String is the token as users pass it.
func (t Token) String() string { return t.ID + "." + t.Secret }

// Parse reads "<6 chars>.<16 chars>" of [a-z0-9].
func Parse(s string) (Token, error) {
	m := tokenRE.FindStringSubmatch(s)
	if m == nil {
		return Token{}, fmt.Errorf("bootstrap token does not match %s (it looks like abcdef.0123456789abcdef)", tokenRE)
	}
	return Token{ID: m[1], Secret: m[2]}, nil
}

// Generate makes a random token.
func Generate() (Token, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 22)
	if _, err := rand.Read(b); err != nil {
		return Token{}, err
	}
	out := make([]byte, len(b))
	for i, c := range b {
		// 256 is not a multiple of 36; the slight bias of a modulo is
		// irrelevant next to 36^16 possible secrets, but avoid it anyway
		// by redrawing.
		for int(c) >= 252 {
			var one [1]byte
			if _, err := rand.Read(one[:]); err != nil {
				return Token{}, err
			}
			c = one[0]
		}
		out[i] = alphabet[int(c)%len(alphabet)]
	}
	return Token{ID: string(out[:6]), Secret: string(out[6:])}, nil
}

// Info is what a bootstrap token Secret says.
type Info struct {
	Token Token
	// Expiration is zero when the token does not expire.
	Expiration  time.Time
	Usages      []string // "authentication", "signing"
	ExtraGroups []string
	Description string
}

// Expired reports whether the token has expired at now.
func (i Info) Expired(now time.Time) bool {
	return !i.Expiration.IsZero() && !now.Before(i.Expiration)
}

// Has reports whether the token is for usage.
func (i Info) Has(usage string) bool { return slices.Contains(i.Usages, usage) }

// Secret returns the kube-system Secret for info.
func (i Info) Secret() (*corev1.Secret, error) {
	if !idRE.MatchString(i.Token.ID) || len(i.Token.Secret) != 16 {
		return nil, fmt.Errorf("invalid bootstrap token %q", i.Token.ID)
	}
	for _, g := range i.ExtraGroups {
		if !groupRE.MatchString(g) {
			return nil, fmt.Errorf("extra group %q does not match %s", g, groupRE)
		}
	}
	data := map[string][]byte{KeyTokenID: []byte(i.Token.ID), KeyTokenSecret: []byte(i.Token.Secret)}
	if !i.Expiration.IsZero() {
		data[KeyExpiration] = []byte(i.Expiration.UTC().Format(time.RFC3339))
	}
	if i.Description != "" {
		data[KeyDescription] = []byte(i.Description)
	}
	if len(i.ExtraGroups) > 0 {
		data[KeyExtraGroups] = []byte(strings.Join(i.ExtraGroups, ","))
	}
	for _, u := range i.Usages {
		if u != UsageAuthentication && u != UsageSigning {
			return nil, fmt.Errorf("unknown bootstrap token usage %q (known: %s, %s)", u, UsageAuthentication, UsageSigning)
		}
		data[UsagePrefix+u] = []byte("true")
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: SecretPrefix + i.Token.ID, Namespace: Namespace},
		Type:       SecretType, Data: data,
	}, nil
}

// FromSecret reads a bootstrap token Secret. It fails for a Secret of
// another type or name, or with malformed fields.
func FromSecret(s *corev1.Secret) (Info, error) {
	if s == nil || s.Type != SecretType {
		return Info{}, errors.New("not a bootstrap token secret")
	}
	get := func(k string) string {
		if v, ok := s.Data[k]; ok {
			return string(v)
		}
		return s.StringData[k]
	}
	id := get(KeyTokenID)
	if s.Name != SecretPrefix+id || !idRE.MatchString(id) {
		return Info{}, fmt.Errorf("secret %s: token-id %q does not match its name", s.Name, id)
	}
	tok, err := Parse(id + "." + get(KeyTokenSecret))
	if err != nil {
		return Info{}, fmt.Errorf("secret %s: %w", s.Name, err)
	}
	info := Info{Token: tok, Description: get(KeyDescription)}
	if e := get(KeyExpiration); e != "" {
		if info.Expiration, err = time.Parse(time.RFC3339, e); err != nil {
			return Info{}, fmt.Errorf("secret %s: bad expiration %q: %w", s.Name, e, err)
		}
	}
	for _, u := range []string{UsageAuthentication, UsageSigning} {
		if get(UsagePrefix+u) == "true" {
			info.Usages = append(info.Usages, u)
		}
	}
	if g := get(KeyExtraGroups); g != "" {
		for _, x := range strings.Split(g, ",") {
			if x = strings.TrimSpace(x); x != "" {
				info.ExtraGroups = append(info.ExtraGroups, x)
			}
		}
	}
	return info, nil
}

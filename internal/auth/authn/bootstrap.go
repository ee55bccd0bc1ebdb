package authn

import (
	"context"
	"crypto/subtle"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

// Bootstrap token names and values, as Kubernetes defines them.
const (
	// BootstrapTokenSecretType is the type of a bootstrap token Secret.
	BootstrapTokenSecretType corev1.SecretType = "bootstrap.kubernetes.io/token"
	// BootstrapTokenSecretPrefix prefixes the token id in the Secret name.
	BootstrapTokenSecretPrefix = "bootstrap-token-"
	// BootstrapTokenNamespace holds bootstrap token Secrets.
	BootstrapTokenNamespace = "kube-system"
	// BootstrapUserPrefix prefixes the token id in the user name.
	BootstrapUserPrefix = "system:bootstrap:"
	// BootstrapGroup is the group of every bootstrap token user.
	BootstrapGroup = "system:bootstrappers"

	// Secret data keys.
	BootstrapTokenIDKey          = "token-id"
	BootstrapTokenSecretKey      = "token-secret"
	BootstrapTokenExpirationKey  = "expiration"
	BootstrapTokenUsageAuthKey   = "usage-bootstrap-authentication"
	BootstrapTokenExtraGroupsKey = "auth-extra-groups"
)

// bootstrapTokenRE is the token format; bootstrapGroupRE the allowed extra
// groups.
var (
	bootstrapTokenRE = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)
	bootstrapGroupRE = regexp.MustCompile(`^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$`)
)

// SecretGetter reads one Secret. It returns an error satisfying
// apierrors.IsNotFound when the Secret does not exist.
type SecretGetter interface {
	GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// BootstrapToken authenticates bootstrap tokens
// (--enable-bootstrap-token-auth): a bearer token "<id>.<secret>"
// ([a-z0-9]{6}.[a-z0-9]{16}) matching the Secret
// kube-system/bootstrap-token-<id> of type bootstrap.kubernetes.io/token
// with usage-bootstrap-authentication "true", not expired (optional RFC
// 3339 "expiration") and not being deleted. The user is
// system:bootstrap:<id> in system:bootstrappers plus the Secret's
// auth-extra-groups, each of which must match
// system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9].
//
// A token of another format yields (nil, false, nil); a well-formed token
// that fails any check is an error (401). The token secret is compared in
// constant time and never logged or put in an error.
type BootstrapToken struct {
	secrets SecretGetter
	now     func() time.Time
}

var _ TokenAuthenticator = (*BootstrapToken)(nil)

// NewBootstrapToken returns the authenticator; secrets and now are
// required.
func NewBootstrapToken(secrets SecretGetter, now func() time.Time) (*BootstrapToken, error) {
	if secrets == nil {
		return nil, errNilDependency("bootstrap token authenticator", "secret getter")
	}
	if now == nil {
		return nil, errNilDependency("bootstrap token authenticator", "clock")
	}
	return &BootstrapToken{secrets: secrets, now: now}, nil
}

// AuthenticateToken implements TokenAuthenticator.
func (a *BootstrapToken) AuthenticateToken(ctx context.Context, token string) (*user.Info, bool, error) {
	m := bootstrapTokenRE.FindStringSubmatch(token)
	if m == nil {
		return nil, false, nil
	}
	id, secret := m[1], m[2]
	fail := func(format string, args ...any) (*user.Info, bool, error) {
		return nil, false, fmt.Errorf("bootstrap token %s: "+format, append([]any{id}, args...)...)
	}
	s, err := a.secrets.GetSecret(ctx, BootstrapTokenNamespace, BootstrapTokenSecretPrefix+id)
	if apierrors.IsNotFound(err) {
		return fail("no secret %s/%s%s", BootstrapTokenNamespace, BootstrapTokenSecretPrefix, id)
	}
	if err != nil {
		return fail("read secret: %w", err)
	}
	if s == nil {
		return fail("read secret: no secret returned")
	}
	if s.DeletionTimestamp != nil {
		return fail("secret is being deleted")
	}
	if s.Type != BootstrapTokenSecretType {
		return fail("secret has type %q, want %q", s.Type, BootstrapTokenSecretType)
	}
	if got := string(s.Data[BootstrapTokenIDKey]); got != id {
		return fail("secret's %s is %q", BootstrapTokenIDKey, got)
	}
	if subtle.ConstantTimeCompare(s.Data[BootstrapTokenSecretKey], []byte(secret)) != 1 {
		return fail("wrong token secret")
	}
	if string(s.Data[BootstrapTokenUsageAuthKey]) != "true" {
		return fail("secret is not for authentication (%s is not \"true\")", BootstrapTokenUsageAuthKey)
	}
	if exp, ok := s.Data[BootstrapTokenExpirationKey]; ok {
		t, err := time.Parse(time.RFC3339, string(exp))
		if err != nil {
			return fail("bad %s %q: %v", BootstrapTokenExpirationKey, exp, err)
		}
		if !a.now().Before(t) {
			return fail("expired at %s", t.UTC().Format(time.RFC3339))
		}
	}
	groups := []string{BootstrapGroup}
	if extra, ok := s.Data[BootstrapTokenExtraGroupsKey]; ok {
		for _, g := range strings.Split(string(extra), ",") {
			g = strings.TrimSpace(g)
			if g == "" {
				continue
			}
			if !bootstrapGroupRE.MatchString(g) {
				return fail("extra group %q does not match %s", g, bootstrapGroupRE)
			}
			if g != BootstrapGroup && !contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	return &user.Info{Name: BootstrapUserPrefix + id, Groups: groups}, true, nil
}

// contains reports whether s holds v.
func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

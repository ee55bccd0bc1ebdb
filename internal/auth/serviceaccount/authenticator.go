package serviceaccount

import (
	"context"
	"crypto"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kastle-dev/kastle/internal/auth/authn"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
const DefaultLeeway = time.Minute

// DeletionGrace is how long a token keeps working after its service
// account or bound object started being deleted, so a terminating pod can
// still talk to the server, as in Kubernetes.
const DeletionGrace = time.Minute

// allowedAlgorithms are the only JWS algorithms accepted. "none" and the
// HMAC algorithms are absent on purpose: an HS256 token "signed" with a
// public key as the secret must never verify.
var allowedAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
}

// Getter reads the objects a token refers to. Each method returns an
// error satisfying apierrors.IsNotFound when the object does not exist.
type Getter interface {
	GetServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
	GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	GetNode(ctx context.Context, name string) (*corev1.Node, error)
}

// AuthenticatorConfig configures an Authenticator.
type AuthenticatorConfig struct {
	// Keys verify signatures (--service-account-key-file, and the public
	// half of the signing key). Required.
	Keys []crypto.PublicKey
	// Issuers are the accepted "iss" values of bound tokens
	// (--service-account-issuer, repeatable). Required.
	Issuers []string
	// APIAudiences (--api-audiences): a bound token must name one of them
	// in "aud", unless the request context carries audiences of its own
	// (authn.WithAudiences, from a TokenReview). Required.
	APIAudiences []string
	// AcceptLegacy accepts legacy Secret-based tokens (iss
	// "kubernetes/serviceaccount").
	AcceptLegacy bool
	// DisableLookup is --service-account-lookup=false: legacy tokens are
	// then accepted on their signature alone. Bound tokens are always
	// checked against the live ServiceAccount and bound object.
	DisableLookup bool
	// Getter looks up service accounts and bound objects. Required.
	Getter Getter
	// Now is the clock. Required.
	Now func() time.Time
	// Leeway is the allowed clock skew; zero means DefaultLeeway.
	Leeway time.Duration
}

// verifyKey is one configured public key.
type verifyKey struct {
	kid string
	key crypto.PublicKey
}

// Authenticator verifies service-account JWTs: the signature against any
// configured key (RS256/384/512, PS256/384/512, ES256/384/512 only), the
// issuer, the audience, exp and nbf with Leeway, and then that the
// ServiceAccount — and for a bound token the bound Pod, Secret or Node —
// still exists with the UID the token names. The user is
// system:serviceaccount:<ns>:<name> with the account's UID, in
// system:serviceaccounts and system:serviceaccounts:<ns>; Extra carries
// the pod name and uid, node name and uid and "JTI=<jti>" credential id
// as Kubernetes does.
//
// A bearer token that is not a JWT, or whose issuer is not accepted,
// yields (nil, false, nil) so that another token authenticator may try;
// one of an accepted issuer that fails any check is an error.
type Authenticator struct {
	keys    []verifyKey
	issuers map[string]bool
	auds    []string
	legacy  bool
	lookup  bool
	getter  Getter
	now     func() time.Time
	leeway  time.Duration
}

var _ authn.TokenAuthenticator = (*Authenticator)(nil)

// NewAuthenticator checks cfg and returns an Authenticator.
func NewAuthenticator(cfg AuthenticatorConfig) (*Authenticator, error) {
	switch {
	case len(cfg.Keys) == 0:
		return nil, errors.New("serviceaccount: authenticator: no verification key given")
	case len(cfg.Issuers) == 0:
		return nil, errors.New("serviceaccount: authenticator: no issuer given")
	case len(cfg.APIAudiences) == 0:
		return nil, errors.New("serviceaccount: authenticator: no API audience given")
	case cfg.Getter == nil:
		return nil, errors.New("serviceaccount: authenticator: no getter given")
	case cfg.Now == nil:
		return nil, errors.New("serviceaccount: authenticator: no clock given")
	}
	a := &Authenticator{
		issuers: map[string]bool{}, auds: append([]string(nil), cfg.APIAudiences...),
		legacy: cfg.AcceptLegacy, lookup: !cfg.DisableLookup, getter: cfg.Getter,
		now: cfg.Now, leeway: cfg.Leeway,
	}
	if a.leeway <= 0 {
		a.leeway = DefaultLeeway
	}
	for _, iss := range cfg.Issuers {
		if iss == "" || iss == LegacyIssuer {
			return nil, fmt.Errorf("serviceaccount: authenticator: bad issuer %q", iss)
		}
		a.issuers[iss] = true
	}
	for _, k := range cfg.Keys {
		k = publicOf(k)
		if _, err := signingAlgorithm(k); err != nil {
			return nil, err
		}
		kid, err := KeyID(k)
		if err != nil {
			return nil, err
		}
		a.keys = append(a.keys, verifyKey{kid: kid, key: k})
	}
	return a, nil
}

// allClaims is every claim the authenticator reads.
type allClaims struct {
	jwt.Claims
	privateClaims
	legacyClaims
}

// unverifiedIssuer returns the "iss" of a compact JWS without checking
// anything, to tell whether the token is ours to judge.
func unverifiedIssuer(token string) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", false
	}
	return c.Issuer, true
}

// AuthenticateToken implements authn.TokenAuthenticator.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*user.Info, bool, error) {
	iss, ok := unverifiedIssuer(token)
	if !ok {
		return nil, false, nil
	}
	legacy := iss == LegacyIssuer
	if !(legacy && a.legacy) && !a.issuers[iss] {
		return nil, false, nil
	}
	c, err := a.verify(token)
	if err != nil {
		return nil, false, err
	}
	info, err := a.validate(ctx, c, legacy, token)
	if err != nil {
		return nil, false, fmt.Errorf("service account token: %w", err)
	}
	return info, true, nil
}

// verify checks the signature and returns the claims.
func (a *Authenticator) verify(token string) (*allClaims, error) {
	tok, err := jwt.ParseSigned(token, allowedAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("service account token: %w", err)
	}
	if len(tok.Headers) != 1 {
		return nil, errors.New("service account token: want exactly one signature")
	}
	kid := tok.Headers[0].KeyID
	// A key whose id matches is tried first; the others after it, since
	// tokens of other signers may carry other key ids.
	order := make([]crypto.PublicKey, 0, len(a.keys))
	for _, k := range a.keys {
		if k.kid == kid {
			order = append(order, k.key)
		}
	}
	for _, k := range a.keys {
		if k.kid != kid {
			order = append(order, k.key)
		}
	}
	for _, k := range order {
		var c allClaims
		if err := tok.Claims(k, &c.Claims, &c.privateClaims, &c.legacyClaims); err == nil {
			return &c, nil
		}
	}
	return nil, errors.New("service account token: signature does not verify with any service-account key")
}

// validate checks the verified claims and the live objects they name.
func (a *Authenticator) validate(ctx context.Context, c *allClaims, legacy bool, token string) (*user.Info, error) {
	now := a.now()
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Time: now}, a.leeway); err != nil {
		return nil, err
	}
	auds, explicit := authn.AudiencesFrom(ctx)
	if !explicit {
		auds = a.auds
	}
	if len(c.Audience) > 0 || !legacy || explicit {
		// Legacy tokens carry no audience and are implicitly for the API
		// audiences, as in Kubernetes; everything else must name one.
		if !intersects(c.Audience, auds) {
			return nil, fmt.Errorf("audience %v is not one of %v", []string(c.Audience), auds)
		}
	}
	if legacy {
		return a.validateLegacy(ctx, c, now, token)
	}
	return a.validateBound(ctx, c, now)
}

// validateBound checks a TokenRequest token.
func (a *Authenticator) validateBound(ctx context.Context, c *allClaims, now time.Time) (*user.Info, error) {
	if c.Expiry == nil {
		return nil, errors.New("token has no expiry")
	}
	k := c.Kubernetes
	if k == nil || k.Namespace == "" || k.ServiceAccount.Name == "" || k.ServiceAccount.UID == "" {
		return nil, errors.New("token has no kubernetes.io namespace and service account")
	}
	if c.Subject != UserName(k.Namespace, k.ServiceAccount.Name) {
		return nil, fmt.Errorf("subject %q does not match service account %s/%s", c.Subject, k.Namespace, k.ServiceAccount.Name)
	}
	if _, err := a.serviceAccount(ctx, k.Namespace, k.ServiceAccount, now); err != nil {
		return nil, err
	}
	info := &user.Info{
		Name: c.Subject, UID: k.ServiceAccount.UID, Groups: Groups(k.Namespace),
		Extra: map[string][]string{},
	}
	if k.Pod != nil {
		pod, err := a.getter.GetPod(ctx, k.Namespace, k.Pod.Name)
		if err := checkObject("pod", k.Namespace+"/"+k.Pod.Name, k.Pod.UID, podMeta(pod), err, now); err != nil {
			return nil, err
		}
		info.Extra[ExtraPodName] = []string{k.Pod.Name}
		info.Extra[ExtraPodUID] = []string{k.Pod.UID}
	}
	if k.Secret != nil {
		s, err := a.getter.GetSecret(ctx, k.Namespace, k.Secret.Name)
		if err := checkObject("secret", k.Namespace+"/"+k.Secret.Name, k.Secret.UID, secretMeta(s), err, now); err != nil {
			return nil, err
		}
	}
	if k.Node != nil {
		n, err := a.getter.GetNode(ctx, k.Node.Name)
		if err := checkObject("node", k.Node.Name, k.Node.UID, nodeMeta(n), err, now); err != nil {
			return nil, err
		}
		info.Extra[ExtraNodeName] = []string{k.Node.Name}
		info.Extra[ExtraNodeUID] = []string{k.Node.UID}
	}
	if c.ID != "" {
		info.Extra[ExtraCredentialID] = []string{"JTI=" + c.ID}
	}
	if len(info.Extra) == 0 {
		info.Extra = nil
	}
	return info, nil
}

// validateLegacy checks a Secret-based token.
func (a *Authenticator) validateLegacy(ctx context.Context, c *allClaims, now time.Time, token string) (*user.Info, error) {
	l := c.legacyClaims
	if l.Namespace == "" || l.ServiceAccountName == "" || l.ServiceAccountUID == "" || l.SecretName == "" {
		return nil, errors.New("legacy token lacks namespace, service account or secret claims")
	}
	if c.Subject != UserName(l.Namespace, l.ServiceAccountName) {
		return nil, fmt.Errorf("subject %q does not match service account %s/%s", c.Subject, l.Namespace, l.ServiceAccountName)
	}
	if a.lookup {
		s, err := a.getter.GetSecret(ctx, l.Namespace, l.SecretName)
		if err := checkObject("secret", l.Namespace+"/"+l.SecretName, "", secretMeta(s), err, now); err != nil {
			return nil, err
		}
		if subtle.ConstantTimeCompare(s.Data[corev1.ServiceAccountTokenKey], []byte(token)) != 1 {
			return nil, fmt.Errorf("token does not match secret %s/%s", l.Namespace, l.SecretName)
		}
		if _, ok := s.Labels[LegacyTokenInvalidSinceLabel]; ok {
			return nil, fmt.Errorf("legacy token of secret %s/%s has been invalidated", l.Namespace, l.SecretName)
		}
		if _, err := a.serviceAccount(ctx, l.Namespace, Ref{Name: l.ServiceAccountName, UID: l.ServiceAccountUID}, now); err != nil {
			return nil, err
		}
	}
	return &user.Info{Name: c.Subject, UID: l.ServiceAccountUID, Groups: Groups(l.Namespace)}, nil
}

// serviceAccount checks that the account exists with the token's UID.
func (a *Authenticator) serviceAccount(ctx context.Context, ns string, ref Ref, now time.Time) (*corev1.ServiceAccount, error) {
	sa, err := a.getter.GetServiceAccount(ctx, ns, ref.Name)
	if err := checkObject("service account", ns+"/"+ref.Name, ref.UID, saMeta(sa), err, now); err != nil {
		return nil, err
	}
	return sa, nil
}

// checkObject turns a lookup into an error: not found, failed, a UID
// other than want (when want is not empty), or deleted for longer than
// DeletionGrace.
func checkObject(kind, name, wantUID string, m *metav1.ObjectMeta, err error, now time.Time) error {
	if apierrors.IsNotFound(err) || (err == nil && m == nil) {
		return fmt.Errorf("%s %s no longer exists", kind, name)
	}
	if err != nil {
		return fmt.Errorf("look up %s %s: %w", kind, name, err)
	}
	if wantUID != "" && m.UID != types.UID(wantUID) {
		return fmt.Errorf("%s %s has uid %s, the token names %s", kind, name, m.UID, wantUID)
	}
	if d := m.DeletionTimestamp; d != nil && d.Time.Before(now.Add(-DeletionGrace)) {
		return fmt.Errorf("%s %s is being deleted since %s", kind, name, d.UTC().Format(time.RFC3339))
	}
	return nil
}

func saMeta(o *corev1.ServiceAccount) *metav1.ObjectMeta {
	if o == nil {
		return nil
	}
	return &o.ObjectMeta
}

func podMeta(o *corev1.Pod) *metav1.ObjectMeta {
	if o == nil {
		return nil
	}
	return &o.ObjectMeta
}

func secretMeta(o *corev1.Secret) *metav1.ObjectMeta {
	if o == nil {
		return nil
	}
	return &o.ObjectMeta
}

func nodeMeta(o *corev1.Node) *metav1.ObjectMeta {
	if o == nil {
		return nil
	}
	return &o.ObjectMeta
}

// intersects reports whether a and b share a value.
func intersects(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

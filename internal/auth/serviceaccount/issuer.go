package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TokenRequest expiration bounds, in seconds.
const (
	MinExpirationSeconds     = 600       // 10 minutes
	MaxExpirationSeconds     = 48 * 3600 // 48 hours
	DefaultExpirationSeconds = 3600      // 1 hour
)

// Kinds of object a token can be bound to.
const (
	KindPod    = "Pod"
	KindSecret = "Secret"
	KindNode   = "Node"
)

// BoundObjectRef is TokenRequest's spec.boundObjectRef: the token is valid
// only while this object exists with this UID.
type BoundObjectRef struct {
	Kind string // KindPod, KindSecret or KindNode
	Name string
	UID  string
}

// TokenSpec is what a TokenRequest asks for.
type TokenSpec struct {
	Namespace          string
	ServiceAccountName string
	ServiceAccountUID  string
	// Audiences of the token; empty means the issuer's DefaultAudiences.
	Audiences []string
	// ExpirationSeconds is the lifetime, MinExpirationSeconds to
	// MaxExpirationSeconds; zero means DefaultExpirationSeconds.
	ExpirationSeconds int64
	// BoundObject, if set, binds the token to a Pod, Secret or Node.
	BoundObject *BoundObjectRef
	// PodNode optionally names the node of a bound Pod; Kubernetes puts it
	// in pod-bound tokens so the node is visible to authorizers.
	PodNode *Ref
	// WarnAfter, if set, is the "warnafter" claim.
	WarnAfter time.Time
}

// Token is an issued token.
type Token struct {
	// Raw is the compact JWS to hand to the client.
	Raw string
	// ID is the "jti" claim.
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// IssuerConfig configures an Issuer.
type IssuerConfig struct {
	// Issuer is the "iss" of bound tokens (--service-account-issuer).
	// Required.
	Issuer string
	// Key signs tokens (--service-account-signing-key-file): RSA (RS256)
	// or ECDSA P-256 (ES256), P-384, P-521. Required.
	Key crypto.Signer
	// DefaultAudiences are used when a TokenSpec names none, normally the
	// API audiences (--api-audiences). Required.
	DefaultAudiences []string
	// Now is the clock for iat, nbf and exp. Required.
	Now func() time.Time
}

// Issuer signs service-account tokens as Kubernetes does: a JWS with
// "kid" = KeyID of the signing key and the claims iss, sub
// (system:serviceaccount:<ns>:<name>), aud, exp, iat, nbf, jti and the
// private claim "kubernetes.io". It is safe for concurrent use.
type Issuer struct {
	issuer string
	auds   []string
	now    func() time.Time
	signer jose.Signer
	kid    string
	pub    crypto.PublicKey
}

// NewIssuer checks cfg and returns an Issuer.
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("serviceaccount: issuer: no issuer name given")
	case cfg.Key == nil:
		return nil, errors.New("serviceaccount: issuer: no signing key given")
	case len(cfg.DefaultAudiences) == 0:
		return nil, errors.New("serviceaccount: issuer: no default audiences given")
	case cfg.Now == nil:
		return nil, errors.New("serviceaccount: issuer: no clock given")
	}
	switch cfg.Key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
	default:
		return nil, fmt.Errorf("serviceaccount: issuer: unsupported signing key %T", cfg.Key)
	}
	pub := cfg.Key.Public()
	alg, err := signingAlgorithm(pub)
	if err != nil {
		return nil, err
	}
	kid, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: cfg.Key, KeyID: kid}}, nil)
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: issuer: %w", err)
	}
	return &Issuer{
		issuer: cfg.Issuer, auds: append([]string(nil), cfg.DefaultAudiences...),
		now: cfg.Now, signer: signer, kid: kid, pub: pub,
	}, nil
}

// NewLegacyIssuer returns an Issuer for legacy tokens only (the
// controller manager's token controller): IssueLegacyToken needs no issuer
// name, audiences or clock.
func NewLegacyIssuer(key crypto.Signer) (*Issuer, error) {
	return NewIssuer(IssuerConfig{Issuer: LegacyIssuer, Key: key, DefaultAudiences: []string{LegacyIssuer}, Now: time.Now})
}

// KeyID returns the "kid" of the tokens this issuer signs.
func (i *Issuer) KeyID() string { return i.kid }

// Audiences returns the default audiences of issued tokens.
func (i *Issuer) Audiences() []string { return append([]string(nil), i.auds...) }

// PublicKey returns the public half of the signing key, to add to the
// verifying keys and the JWKS.
func (i *Issuer) PublicKey() crypto.PublicKey { return i.pub }

// IssueToken is Issue returning only the token text.
func (i *Issuer) IssueToken(spec TokenSpec) (string, error) {
	t, err := i.Issue(spec)
	if err != nil {
		return "", err
	}
	return t.Raw, nil
}

// Issue validates spec and signs a bound token for it. It fails for an
// empty namespace, name or UID, an expiration outside
// [MinExpirationSeconds, MaxExpirationSeconds], or a bound object of
// another kind or without name and UID.
func (i *Issuer) Issue(spec TokenSpec) (*Token, error) {
	if err := checkNames("namespace", spec.Namespace, "service account name", spec.ServiceAccountName); err != nil {
		return nil, err
	}
	if spec.ServiceAccountUID == "" {
		return nil, errors.New("serviceaccount: empty service account uid")
	}
	secs := spec.ExpirationSeconds
	if secs == 0 {
		secs = DefaultExpirationSeconds
	}
	if secs < MinExpirationSeconds || secs > MaxExpirationSeconds {
		return nil, fmt.Errorf("serviceaccount: expirationSeconds %d out of range [%d, %d]", secs, MinExpirationSeconds, MaxExpirationSeconds)
	}
	auds := spec.Audiences
	if len(auds) == 0 {
		auds = i.auds
	}
	for _, a := range auds {
		if a == "" {
			return nil, errors.New("serviceaccount: empty audience")
		}
	}
	kc := &KubernetesClaims{
		Namespace:      spec.Namespace,
		ServiceAccount: Ref{Name: spec.ServiceAccountName, UID: spec.ServiceAccountUID},
	}
	if b := spec.BoundObject; b != nil {
		if b.Name == "" || b.UID == "" {
			return nil, fmt.Errorf("serviceaccount: bound %s needs a name and a uid", b.Kind)
		}
		ref := &Ref{Name: b.Name, UID: b.UID}
		switch b.Kind {
		case KindPod:
			kc.Pod = ref
			if spec.PodNode != nil {
				if spec.PodNode.Name == "" || spec.PodNode.UID == "" {
					return nil, errors.New("serviceaccount: pod's node needs a name and a uid")
				}
				kc.Node = &Ref{Name: spec.PodNode.Name, UID: spec.PodNode.UID}
			}
		case KindSecret:
			kc.Secret = ref
		case KindNode:
			kc.Node = ref
		default:
			return nil, fmt.Errorf("serviceaccount: cannot bind a token to a %q (want Pod, Secret or Node)", b.Kind)
		}
	} else if spec.PodNode != nil {
		return nil, errors.New("serviceaccount: a pod's node given without a bound pod")
	}
	if !spec.WarnAfter.IsZero() {
		kc.WarnAfter = jwt.NewNumericDate(spec.WarnAfter)
	}
	jti, err := newUUID()
	if err != nil {
		return nil, err
	}
	now := i.now()
	exp := now.Add(time.Duration(secs) * time.Second)
	pub := jwt.Claims{
		Issuer:    i.issuer,
		Subject:   UserName(spec.Namespace, spec.ServiceAccountName),
		Expiry:    jwt.NewNumericDate(exp),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        jti,
	}
	raw, err := jwt.Signed(i.signer).Claims(pub).Claims(audienceClaim{Audience: auds}).Claims(privateClaims{Kubernetes: kc}).Serialize()
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: sign token: %w", err)
	}
	return &Token{Raw: raw, ID: jti, IssuedAt: pub.IssuedAt.Time(), ExpiresAt: pub.Expiry.Time()}, nil
}

// IssueLegacyToken signs a legacy token for the Secret secretName of type
// kubernetes.io/service-account-token: iss "kubernetes/serviceaccount",
// sub, and the kubernetes.io/serviceaccount/... claims; no expiry and no
// audience, as Kubernetes made them. The token controller stores it in
// the Secret's "token" key.
func (i *Issuer) IssueLegacyToken(namespace, saName, saUID, secretName string) (string, error) {
	if err := checkNames("namespace", namespace, "service account name", saName, "secret name", secretName); err != nil {
		return "", err
	}
	if saUID == "" {
		return "", errors.New("serviceaccount: empty service account uid")
	}
	pub := jwt.Claims{Issuer: LegacyIssuer, Subject: UserName(namespace, saName)}
	priv := legacyClaims{Namespace: namespace, SecretName: secretName, ServiceAccountName: saName, ServiceAccountUID: saUID}
	raw, err := jwt.Signed(i.signer).Claims(pub).Claims(priv).Serialize()
	if err != nil {
		return "", fmt.Errorf("serviceaccount: sign legacy token: %w", err)
	}
	return raw, nil
}

// audienceClaim writes "aud" as an array even for one audience, as
// Kubernetes does (go-jose would write a lone string).
type audienceClaim struct {
	Audience []string `json:"aud"`
}

// newUUID returns a random (version 4) UUID.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("serviceaccount: token id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

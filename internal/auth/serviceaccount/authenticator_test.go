package serviceaccount

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/auth/authn"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/pki"
)

const (
	testIssuer = "https://kastle.test"
	testAud    = "https://kastle.test"
)

// handToken builds a compact JWS by hand: header and claims as given,
// signature from sign (nil: empty, as for alg none).
func handToken(t testing.TB, header map[string]any, claims map[string]any, sign func(signingInput []byte) []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(in))
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// boundClaims are valid claims of a bound token for default/builder.
func boundClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "system:serviceaccount:default:builder", "aud": []string{testAud},
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(), "jti": "j1",
		"kubernetes.io": map[string]any{"namespace": "default", "serviceaccount": map[string]any{"name": "builder", "uid": "sa-uid"}},
	}
}

func hs256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func TestAuthenticator(t *testing.T) {
	rsaKey, rsaKey2, ecKey, otherKey := keys(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	rsaIss := newTestIssuer(t, testIssuer, rsaKey, clock)
	ecIss := newTestIssuer(t, testIssuer, ecKey, clock)
	foreignIss := newTestIssuer(t, testIssuer, otherKey, clock)
	wrongIss := newTestIssuer(t, "https://elsewhere.test", ecKey, clock)
	rsaPubPEM, _ := pki.EncodePublicKeyPEM(&rsaKey.PublicKey)
	rsaPubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)

	spec := TokenSpec{Namespace: "default", ServiceAccountName: "builder", ServiceAccountUID: "sa-uid"}
	issue := func(i *Issuer, mod func(*TokenSpec)) string {
		s := spec
		if mod != nil {
			mod(&s)
		}
		tok, err := i.IssueToken(s)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	legacy := func(i *Issuer) string {
		tok, err := i.IssueLegacyToken("default", "builder", "sa-uid", "builder-token")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	baseUser := func(extra map[string][]string) *user.Info {
		return &user.Info{Name: "system:serviceaccount:default:builder", UID: "sa-uid",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:default"}, Extra: extra}
	}
	world := func(mod func(o *objects)) *objects {
		o := newObjects()
		o.put("sa", "default", "builder", "sa-uid", nil)
		o.put("pod", "default", "web", "pod-uid", nil)
		o.put("secret", "default", "bound", "secret-uid", nil)
		o.put("node", "", "node-1", "node-uid", nil)
		if mod != nil {
			mod(o)
		}
		return o
	}
	legacyTok := legacy(rsaIss)
	legacySecret := func(o *objects, token string) {
		o.put("secret", "default", "builder-token", "lsecret-uid", nil)
		o.mu.Lock()
		o.objs["secret/default/builder-token"].(*corev1.Secret).Data = map[string][]byte{"token": []byte(token)}
		o.mu.Unlock()
	}

	type tc struct {
		name    string
		token   string
		cfg     func(*AuthenticatorConfig)
		world   func(*objects)
		ctx     context.Context
		at      time.Time
		want    *user.Info
		notMine bool
		wantErr string
	}
	tests := []tc{
		{name: "RS256", token: issue(rsaIss, nil), want: baseUser(nil)},
		{name: "ES256", token: issue(ecIss, nil), want: baseUser(nil)},
		{name: "pod-bound with node", token: issue(rsaIss, func(s *TokenSpec) {
			s.BoundObject = &BoundObjectRef{Kind: KindPod, Name: "web", UID: "pod-uid"}
			s.PodNode = &Ref{Name: "node-1", UID: "node-uid"}
		}), want: baseUser(map[string][]string{
			ExtraPodName: {"web"}, ExtraPodUID: {"pod-uid"}, ExtraNodeName: {"node-1"}, ExtraNodeUID: {"node-uid"},
		})},
		{name: "secret-bound", token: issue(rsaIss, func(s *TokenSpec) {
			s.BoundObject = &BoundObjectRef{Kind: KindSecret, Name: "bound", UID: "secret-uid"}
		}), want: baseUser(nil)},
		{name: "node-bound", token: issue(rsaIss, func(s *TokenSpec) {
			s.BoundObject = &BoundObjectRef{Kind: KindNode, Name: "node-1", UID: "node-uid"}
		}), want: baseUser(map[string][]string{ExtraNodeName: {"node-1"}, ExtraNodeUID: {"node-uid"}})},
		{name: "not a JWT", token: "abcdef.0123456789abcdef", notMine: true},
		{name: "garbage", token: "a.b.c", notMine: true},
		{name: "wrong issuer", token: issue(wrongIss, nil), notMine: true},
		{name: "alg none", token: handToken(t, map[string]any{"alg": "none", "typ": "JWT"}, boundClaims(now), nil),
			wantErr: "unexpected signature algorithm"},
		{name: "HS256 with the PEM public key as secret", token: handToken(t,
			map[string]any{"alg": "HS256", "typ": "JWT"}, boundClaims(now), hs256(rsaPubPEM)),
			wantErr: "unexpected signature algorithm"},
		{name: "HS256 with the DER public key as secret", token: handToken(t,
			map[string]any{"alg": "HS256", "typ": "JWT"}, boundClaims(now), hs256(rsaPubDER)),
			wantErr: "unexpected signature algorithm"},
		{name: "unknown key", token: issue(foreignIss, nil), wantErr: "does not verify"},
		{name: "second configured key", token: issue(newTestIssuer(t, testIssuer, rsaKey2, clock), nil), want: baseUser(nil)},
		{name: "tampered payload", token: func() string {
			parts := strings.Split(issue(rsaIss, nil), ".")
			c := boundClaims(now)
			c["sub"] = "system:serviceaccount:kube-system:admin"
			b, _ := json.Marshal(c)
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
		}(), wantErr: "does not verify"},
		{name: "wrong audience", token: issue(rsaIss, func(s *TokenSpec) { s.Audiences = []string{"vault"} }), wantErr: "audience"},
		{name: "audience from TokenReview", token: issue(rsaIss, func(s *TokenSpec) { s.Audiences = []string{"vault"} }),
			ctx: authn.WithAudiences(context.Background(), []string{"vault"}), want: baseUser(nil)},
		{name: "API audience refused when TokenReview names another", token: issue(rsaIss, nil),
			ctx: authn.WithAudiences(context.Background(), []string{"vault"}), wantErr: "audience"},
		{name: "expired", token: issue(rsaIss, nil), at: now.Add(time.Hour + DefaultLeeway + time.Second), wantErr: "expired"},
		{name: "expired within leeway", token: issue(rsaIss, nil), at: now.Add(time.Hour + DefaultLeeway/2), want: baseUser(nil)},
		{name: "not yet valid", token: issue(rsaIss, nil), at: now.Add(-DefaultLeeway - time.Second), wantErr: "not valid yet"},
		{name: "no expiry", token: func() string {
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ecKey}, nil)
			c := boundClaims(now)
			delete(c, "exp")
			tok, _ := jwt.Signed(s).Claims(c).Serialize()
			return tok
		}(), wantErr: "no expiry"},
		{name: "subject mismatch", token: func() string {
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ecKey}, nil)
			c := boundClaims(now)
			c["sub"] = "system:serviceaccount:kube-system:admin"
			tok, _ := jwt.Signed(s).Claims(c).Serialize()
			return tok
		}(), wantErr: "does not match"},
		{name: "SA deleted", token: issue(rsaIss, nil), world: func(o *objects) { o.del("sa", "default", "builder") }, wantErr: "no longer exists"},
		{name: "SA recreated", token: issue(rsaIss, nil), world: func(o *objects) { o.put("sa", "default", "builder", "new-uid", nil) }, wantErr: "uid"},
		{name: "SA deleted within grace", token: issue(rsaIss, nil), world: func(o *objects) {
			o.put("sa", "default", "builder", "sa-uid", func(m *metav1.ObjectMeta) { m.DeletionTimestamp = &metav1.Time{Time: now.Add(-DeletionGrace / 2)} })
		}, want: baseUser(nil)},
		{name: "SA deleted past grace", token: issue(rsaIss, nil), world: func(o *objects) {
			o.put("sa", "default", "builder", "sa-uid", func(m *metav1.ObjectMeta) { m.DeletionTimestamp = &metav1.Time{Time: now.Add(-2 * DeletionGrace)} })
		}, wantErr: "being deleted"},
		{name: "bound pod deleted", token: issue(rsaIss, func(s *TokenSpec) {
			s.BoundObject = &BoundObjectRef{Kind: KindPod, Name: "web", UID: "pod-uid"}
		}), world: func(o *objects) { o.del("pod", "default", "web") }, wantErr: "pod default/web no longer exists"},
		{name: "bound pod recreated", token: issue(rsaIss, func(s *TokenSpec) {
			s.BoundObject = &BoundObjectRef{Kind: KindPod, Name: "web", UID: "pod-uid"}
		}), world: func(o *objects) { o.put("pod", "default", "web", "other", nil) }, wantErr: "uid"},
		{name: "bound secret deleted", token: issue(rsaIss, func(s *TokenSpec) {
			s.BoundObject = &BoundObjectRef{Kind: KindSecret, Name: "bound", UID: "secret-uid"}
		}), world: func(o *objects) { o.del("secret", "default", "bound") }, wantErr: "no longer exists"},
		{name: "bound node deleted", token: issue(rsaIss, func(s *TokenSpec) {
			s.BoundObject = &BoundObjectRef{Kind: KindNode, Name: "node-1", UID: "node-uid"}
		}), world: func(o *objects) { o.del("node", "", "node-1") }, wantErr: "no longer exists"},
		{name: "bound objects checked even without lookup", token: issue(rsaIss, nil),
			cfg: func(c *AuthenticatorConfig) { c.DisableLookup = true }, world: func(o *objects) { o.del("sa", "default", "builder") }, wantErr: "no longer exists"},
		{name: "legacy", token: legacyTok, world: func(o *objects) { legacySecret(o, legacyTok) }, want: baseUser(nil)},
		{name: "legacy not accepted", token: legacyTok, cfg: func(c *AuthenticatorConfig) { c.AcceptLegacy = false }, notMine: true},
		{name: "legacy secret deleted", token: legacyTok, wantErr: "secret default/builder-token no longer exists"},
		{name: "legacy secret holds another token", token: legacyTok, world: func(o *objects) { legacySecret(o, "other") }, wantErr: "does not match"},
		{name: "legacy SA deleted", token: legacyTok, world: func(o *objects) {
			legacySecret(o, legacyTok)
			o.del("sa", "default", "builder")
		}, wantErr: "no longer exists"},
		{name: "legacy invalidated", token: legacyTok, world: func(o *objects) {
			legacySecret(o, legacyTok)
			o.objs["secret/default/builder-token"].(*corev1.Secret).Labels = map[string]string{LegacyTokenInvalidSinceLabel: "2026-01-01"}
		}, wantErr: "invalidated"},
		{name: "legacy without lookup", token: legacyTok, cfg: func(c *AuthenticatorConfig) { c.DisableLookup = true },
			world: func(o *objects) { o.del("sa", "default", "builder") }, want: baseUser(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := now
			if !tt.at.IsZero() {
				at = tt.at
			}
			cfg := AuthenticatorConfig{
				Keys:    []crypto.PublicKey{&rsaKey.PublicKey, ecKey, rsaKey2}, // a private key is reduced to its public half
				Issuers: []string{testIssuer}, APIAudiences: []string{testAud}, AcceptLegacy: true,
				Getter: world(tt.world), Now: func() time.Time { return at },
			}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			a, err := NewAuthenticator(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			got, ok, err := a.AuthenticateToken(ctx, tt.token)
			switch {
			case tt.notMine:
				if got != nil || ok || err != nil {
					t.Fatalf("got %v %v %v, want (nil, false, nil)", got, ok, err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ok || got != nil {
					t.Fatalf("got %v %v %v, want error %q", got, ok, err, tt.wantErr)
				}
			default:
				if err != nil || !ok {
					t.Fatalf("got %v %v %v", got, ok, err)
				}
				if id := got.Extra[ExtraCredentialID]; tt.token != legacyTok && (len(id) != 1 || !strings.HasPrefix(id[0], "JTI=")) {
					t.Errorf("credential id %v", id)
				}
				delete(got.Extra, ExtraCredentialID)
				if len(got.Extra) == 0 {
					got.Extra = nil
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

// TestAuthenticatorInBearerUnion checks the 401 contract end to end: a
// token of a foreign issuer is not accepted by anyone.
func TestAuthenticatorInBearerUnion(t *testing.T) {
	_, _, ecKey, _ := keys(t)
	now := time.Now()
	iss := newTestIssuer(t, testIssuer, ecKey, func() time.Time { return now })
	wrong := newTestIssuer(t, "https://elsewhere.test", ecKey, func() time.Time { return now })
	o := newObjects()
	o.put("sa", "ns", "a", "u", nil)
	a, err := NewAuthenticator(AuthenticatorConfig{Keys: []crypto.PublicKey{ecKey.Public()}, Issuers: []string{testIssuer},
		APIAudiences: []string{testAud}, Getter: o, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	u := authn.BearerTokenUnion{a}
	good, _ := iss.IssueToken(TokenSpec{Namespace: "ns", ServiceAccountName: "a", ServiceAccountUID: "u"})
	bad, _ := wrong.IssueToken(TokenSpec{Namespace: "ns", ServiceAccountName: "a", ServiceAccountUID: "u"})
	if info, ok, err := u.AuthenticateToken(context.Background(), good); err != nil || !ok || info.Name != "system:serviceaccount:ns:a" {
		t.Fatalf("good: %v %v %v", info, ok, err)
	}
	if _, ok, err := u.AuthenticateToken(context.Background(), bad); err == nil || ok {
		t.Fatalf("wrong issuer accepted: %v %v", ok, err)
	}
}

func TestNewAuthenticatorRefusals(t *testing.T) {
	_, _, ecKey, _ := keys(t)
	good := AuthenticatorConfig{Keys: []crypto.PublicKey{ecKey.Public()}, Issuers: []string{testIssuer},
		APIAudiences: []string{testAud}, Getter: newObjects(), Now: time.Now}
	if _, err := NewAuthenticator(good); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*AuthenticatorConfig){
		"no keys":        func(c *AuthenticatorConfig) { c.Keys = nil },
		"no issuers":     func(c *AuthenticatorConfig) { c.Issuers = nil },
		"legacy issuer":  func(c *AuthenticatorConfig) { c.Issuers = []string{LegacyIssuer} },
		"no audiences":   func(c *AuthenticatorConfig) { c.APIAudiences = nil },
		"no getter":      func(c *AuthenticatorConfig) { c.Getter = nil },
		"no clock":       func(c *AuthenticatorConfig) { c.Now = nil },
		"HMAC key bytes": func(c *AuthenticatorConfig) { c.Keys = []crypto.PublicKey{[]byte("secret")} },
	} {
		c := good
		mod(&c)
		if _, err := NewAuthenticator(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

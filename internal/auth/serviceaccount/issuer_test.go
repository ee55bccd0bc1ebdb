package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/kastle-dev/kastle/internal/pki"
)

// decodeSegment decodes one part of a compact JWS into a map.
func decodeSegment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIssue(t *testing.T) {
	rsaKey, _, ecKey, _ := keys(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	base := TokenSpec{Namespace: "default", ServiceAccountName: "builder", ServiceAccountUID: "sa-uid"}
	tests := []struct {
		name    string
		key     crypto.Signer
		mod     func(*TokenSpec)
		wantAlg string
		wantExp time.Duration
		wantErr string
		check   func(t *testing.T, claims map[string]any)
	}{
		{name: "RSA default expiry", key: rsaKey, wantAlg: "RS256", wantExp: time.Hour},
		{name: "P-256", key: ecKey, wantAlg: "ES256", wantExp: time.Hour},
		{name: "minimum expiry", key: ecKey, mod: func(s *TokenSpec) { s.ExpirationSeconds = 600 }, wantAlg: "ES256", wantExp: 10 * time.Minute},
		{name: "maximum expiry", key: ecKey, mod: func(s *TokenSpec) { s.ExpirationSeconds = 48 * 3600 }, wantAlg: "ES256", wantExp: 48 * time.Hour},
		{name: "below minimum", key: ecKey, mod: func(s *TokenSpec) { s.ExpirationSeconds = 599 }, wantErr: "out of range"},
		{name: "above maximum", key: ecKey, mod: func(s *TokenSpec) { s.ExpirationSeconds = 48*3600 + 1 }, wantErr: "out of range"},
		{name: "negative", key: ecKey, mod: func(s *TokenSpec) { s.ExpirationSeconds = -1 }, wantErr: "out of range"},
		{name: "no namespace", key: ecKey, mod: func(s *TokenSpec) { s.Namespace = "" }, wantErr: "empty namespace"},
		{name: "colon in name", key: ecKey, mod: func(s *TokenSpec) { s.ServiceAccountName = "a:b" }, wantErr: "bad service account name"},
		{name: "no uid", key: ecKey, mod: func(s *TokenSpec) { s.ServiceAccountUID = "" }, wantErr: "uid"},
		{name: "bound to a ConfigMap", key: ecKey, mod: func(s *TokenSpec) {
			s.BoundObject = &BoundObjectRef{Kind: "ConfigMap", Name: "c", UID: "u"}
		}, wantErr: "cannot bind"},
		{name: "bound pod without uid", key: ecKey, mod: func(s *TokenSpec) {
			s.BoundObject = &BoundObjectRef{Kind: KindPod, Name: "p"}
		}, wantErr: "name and a uid"},
		{name: "node without pod", key: ecKey, mod: func(s *TokenSpec) { s.PodNode = &Ref{Name: "n", UID: "u"} }, wantErr: "without a bound pod"},
		{name: "pod-bound claims", key: ecKey, mod: func(s *TokenSpec) {
			s.Audiences = []string{"a", "b"}
			s.BoundObject = &BoundObjectRef{Kind: KindPod, Name: "web", UID: "pod-uid"}
			s.PodNode = &Ref{Name: "node-1", UID: "node-uid"}
			s.WarnAfter = now.Add(30 * time.Minute)
		}, wantAlg: "ES256", wantExp: time.Hour, check: func(t *testing.T, c map[string]any) {
			k := c["kubernetes.io"].(map[string]any)
			pod := k["pod"].(map[string]any)
			node := k["node"].(map[string]any)
			if pod["name"] != "web" || pod["uid"] != "pod-uid" || node["name"] != "node-1" || node["uid"] != "node-uid" {
				t.Errorf("kubernetes.io = %v", k)
			}
			if k["warnafter"] != float64(now.Add(30*time.Minute).Unix()) {
				t.Errorf("warnafter = %v", k["warnafter"])
			}
			if aud := c["aud"].([]any); len(aud) != 2 || aud[0] != "a" || aud[1] != "b" {
				t.Errorf("aud = %v", aud)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := newTestIssuer(t, testIssuer, tt.key, clock)
			spec := base
			if tt.mod != nil {
				tt.mod(&spec)
			}
			tok, err := i.Issue(spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := decodeSegment(t, tok.Raw, 0)
			wantKID, _ := KeyID(tt.key.Public())
			if h["alg"] != tt.wantAlg || h["kid"] != wantKID {
				t.Errorf("header %v, want alg %s kid %s", h, tt.wantAlg, wantKID)
			}
			c := decodeSegment(t, tok.Raw, 1)
			if c["iss"] != testIssuer || c["sub"] != "system:serviceaccount:default:builder" ||
				c["iat"] != float64(now.Unix()) || c["nbf"] != float64(now.Unix()) ||
				c["exp"] != float64(now.Add(tt.wantExp).Unix()) || c["jti"] != tok.ID || len(tok.ID) != 36 {
				t.Errorf("claims %v", c)
			}
			if !tok.ExpiresAt.Equal(now.Add(tt.wantExp)) || !tok.IssuedAt.Equal(now) {
				t.Errorf("token times %v %v", tok.IssuedAt, tok.ExpiresAt)
			}
			k := c["kubernetes.io"].(map[string]any)
			sa := k["serviceaccount"].(map[string]any)
			if k["namespace"] != "default" || sa["name"] != "builder" || sa["uid"] != "sa-uid" {
				t.Errorf("kubernetes.io = %v", k)
			}
			if spec.Audiences == nil {
				if aud, ok := c["aud"].([]any); !ok || len(aud) != 1 || aud[0] != testAud {
					t.Errorf("default aud = %v", c["aud"])
				}
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
	// Distinct jti per token.
	i := newTestIssuer(t, testIssuer, ecKey, clock)
	a, _ := i.Issue(base)
	b, _ := i.Issue(base)
	if a.ID == b.ID {
		t.Error("two tokens share a jti")
	}
}

func TestIssueLegacyToken(t *testing.T) {
	_, _, ecKey, _ := keys(t)
	i := newTestIssuer(t, testIssuer, ecKey, time.Now)
	tok, err := i.IssueLegacyToken("default", "builder", "sa-uid", "builder-token")
	if err != nil {
		t.Fatal(err)
	}
	c := decodeSegment(t, tok, 1)
	want := map[string]any{
		"iss": LegacyIssuer, "sub": "system:serviceaccount:default:builder",
		"kubernetes.io/serviceaccount/namespace":            "default",
		"kubernetes.io/serviceaccount/secret.name":          "builder-token",
		"kubernetes.io/serviceaccount/service-account.name": "builder",
		"kubernetes.io/serviceaccount/service-account.uid":  "sa-uid",
	}
	if len(c) != len(want) {
		t.Errorf("claims %v, want %v", c, want)
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if _, err := i.IssueLegacyToken("default", "builder", "sa-uid", ""); err == nil {
		t.Error("legacy token without secret name issued")
	}
}

func TestNewIssuerRefusals(t *testing.T) {
	_, _, ecKey, _ := keys(t)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]IssuerConfig{
		"no issuer":    {Key: ecKey, DefaultAudiences: []string{"a"}, Now: time.Now},
		"no key":       {Issuer: "i", DefaultAudiences: []string{"a"}, Now: time.Now},
		"no audiences": {Issuer: "i", Key: ecKey, Now: time.Now},
		"no clock":     {Issuer: "i", Key: ecKey, DefaultAudiences: []string{"a"}},
		"ed25519":      {Issuer: "i", Key: edKey, DefaultAudiences: []string{"a"}, Now: time.Now},
		"RSA-1024":     {Issuer: "i", Key: small, DefaultAudiences: []string{"a"}, Now: time.Now},
	} {
		if _, err := NewIssuer(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestKeyID(t *testing.T) {
	rsaKey, rsaKey2, ecKey, _ := keys(t)
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	sum := sha256.Sum256(der)
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	if got, _ := KeyID(&rsaKey.PublicKey); got != want || len(got) != 43 {
		t.Fatalf("KeyID = %q, want %q", got, want)
	}
	a, _ := KeyID(&rsaKey2.PublicKey)
	b, _ := KeyID(ecKey.Public())
	if a == want || b == want || a == b {
		t.Fatal("distinct keys share a key id")
	}
}

func TestParsePublicKeys(t *testing.T) {
	rsaKey, _, ecKey, _ := keys(t)
	ecPub, _ := pki.EncodePublicKeyPEM(ecKey.Public())
	rsaPriv, _ := pki.EncodeKeyPEM(rsaKey)
	ecPriv, _ := pki.EncodeKeyPEM(ecKey)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	rsaPKCS1Pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sa"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ecKey.Public(), ecKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	edPEM, _ := pki.EncodePublicKeyPEM(edPub)
	smallKey, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p224, _ := pki.EncodePublicKeyPEM(smallKey.Public())

	type pub interface{ Equal(crypto.PublicKey) bool }
	tests := []struct {
		name    string
		data    []byte
		want    []crypto.PublicKey
		wantErr string
	}{
		{name: "PKIX public key", data: ecPub, want: []crypto.PublicKey{ecKey.Public()}},
		{name: "certificate", data: certPEM, want: []crypto.PublicKey{ecKey.Public()}},
		{name: "RSA private key", data: rsaPriv, want: []crypto.PublicKey{&rsaKey.PublicKey}},
		{name: "EC private key", data: ecPriv, want: []crypto.PublicKey{ecKey.Public()}},
		{name: "PKCS #8", data: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), want: []crypto.PublicKey{ecKey.Public()}},
		{name: "PKCS #1 public", data: rsaPKCS1Pub, want: []crypto.PublicKey{&rsaKey.PublicKey}},
		{name: "several, other blocks skipped", data: append(append(append([]byte{}, ecPub...),
			pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42}})...), rsaPKCS1Pub...),
			want: []crypto.PublicKey{ecKey.Public(), &rsaKey.PublicKey}},
		{name: "nothing", data: []byte("hello"), wantErr: "no public key"},
		{name: "ed25519", data: edPEM, wantErr: "unsupported key type"},
		{name: "P-224", data: p224, wantErr: "unsupported ECDSA curve"},
		{name: "broken", data: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("x")}), wantErr: "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKeys(tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d keys, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].(pub).Equal(tt.want[i]) {
					t.Errorf("key %d differs", i)
				}
			}
		})
	}
}

func TestLoadKeyFiles(t *testing.T) {
	rsaKey, _, ecKey, _ := keys(t)
	dir := t.TempDir()
	saKey := filepath.Join(dir, "sa.key")
	saPub := filepath.Join(dir, "sa.pub")
	keyPEM, _ := pki.EncodeKeyPEM(rsaKey)
	pubPEM, _ := pki.EncodePublicKeyPEM(ecKey.Public())
	if err := os.WriteFile(saKey, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(saPub, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := LoadSigningKeyFile(saKey)
	if err != nil || !rsaKey.Equal(k) {
		t.Fatalf("LoadSigningKeyFile: %v", err)
	}
	if _, err := LoadSigningKeyFile(saPub); err == nil {
		t.Fatal("public key accepted as signing key")
	}
	pubs, err := LoadPublicKeyFiles(saPub, saKey)
	if err != nil || len(pubs) != 2 {
		t.Fatalf("LoadPublicKeyFiles: %v %v", pubs, err)
	}
	if _, err := LoadPublicKeyFiles(); err == nil {
		t.Fatal("no files accepted")
	}
	if _, err := LoadPublicKeyFiles(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestDiscovery(t *testing.T) {
	rsaKey, _, ecKey, _ := keys(t)
	var cfg map[string]any
	if err := json.Unmarshal(OpenIDConfiguration("https://kastle.test", "https://kastle.test/openid/v1/jwks", &rsaKey.PublicKey, ecKey), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["issuer"] != "https://kastle.test" || cfg["jwks_uri"] != "https://kastle.test/openid/v1/jwks" {
		t.Errorf("config %v", cfg)
	}
	if algs, _ := json.Marshal(cfg["id_token_signing_alg_values_supported"]); string(algs) != `["ES256","RS256"]` {
		t.Errorf("algs %s", algs)
	}
	if rt, _ := json.Marshal(cfg["response_types_supported"]); string(rt) != `["id_token"]` {
		t.Errorf("response types %s", rt)
	}
	if st, _ := json.Marshal(cfg["subject_types_supported"]); string(st) != `["public"]` {
		t.Errorf("subject types %s", st)
	}
	var def map[string]any
	json.Unmarshal(OpenIDConfiguration("i", "j"), &def)
	if a, _ := json.Marshal(def["id_token_signing_alg_values_supported"]); string(a) != `["RS256"]` {
		t.Errorf("default algs %s", a)
	}

	// JWKS: private keys reduced to public halves, duplicates and
	// unsupported keys dropped; every key round-trips and matches its kid.
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	raw := JWKS([]crypto.PublicKey{rsaKey, &rsaKey.PublicKey, ecKey.Public(), edPub})
	if strings.Contains(string(raw), `"d"`) || strings.Contains(string(raw), `"p"`) {
		t.Fatalf("JWKS leaks private key material: %s", raw)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2: %s", len(set.Keys), raw)
	}
	for i, want := range []struct {
		alg string
		key crypto.PublicKey
	}{{"RS256", &rsaKey.PublicKey}, {"ES256", ecKey.Public()}} {
		k := set.Keys[i]
		kid, _ := KeyID(want.key)
		if k.Algorithm != want.alg || k.Use != "sig" || k.KeyID != kid || !k.IsPublic() {
			t.Errorf("key %d: %+v", i, k)
		}
		if !want.key.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Key) {
			t.Errorf("key %d does not round-trip", i)
		}
	}
	if string(JWKS(nil)) != `{"keys":[]}` {
		t.Errorf("empty JWKS = %s", JWKS(nil))
	}
}

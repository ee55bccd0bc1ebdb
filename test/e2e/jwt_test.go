package e2e

import (
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/kastle-dev/kastle/internal/pki"
)

// TestServiceAccountJWTAttacks presents forged or mis-scoped
// service-account tokens over curl; every one must be 401. Valid claims
// are signed with the server's own sa.key so only the attacked property
// differs.
func TestServiceAccountJWTAttacks(t *testing.T) {
	t.Parallel()
	ns := nsName(t.Name())
	mustKubectl(t, "create", "ns", ns)
	mustKubectl(t, "create", "serviceaccount", "target", "-n", ns)
	uid := mustKubectl(t, "get", "serviceaccount", "target", "-n", ns, "-o", "jsonpath={.metadata.uid}")
	keyPEM, err := os.ReadFile(filepath.Join(env.shared.dataDir, "pki", "sa.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := os.ReadFile(filepath.Join(env.shared.dataDir, "pki", "sa.pub"))

	const issuer = "https://kubernetes.default.svc.cluster.local"
	now := time.Now()
	claims := func(mutate func(m map[string]interface{})) map[string]interface{} {
		m := map[string]interface{}{
			"iss": issuer, "sub": "system:serviceaccount:" + ns + ":target", "aud": []string{issuer},
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"kubernetes.io": map[string]interface{}{"namespace": ns, "serviceaccount": map[string]string{"name": "target", "uid": uid}},
		}
		if mutate != nil {
			mutate(m)
		}
		return m
	}
	sign := func(m map[string]interface{}) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.(crypto.Signer)}, (&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(signer).Claims(m).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	b64 := func(v interface{}) string {
		data, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(data)
	}
	unsigned := b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(claims(nil)) + "."
	hsInput := b64(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + b64(claims(nil))
	mac := hmac.New(sha256.New, pubPEM)
	mac.Write([]byte(hsInput))
	hs256 := hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	if code, name, _ := whoami(t, sign(claims(nil))); code != 201 || !strings.HasSuffix(name, ":target") {
		t.Fatalf("control: a correctly signed token must work, got %d %s", code, name)
	}
	for name, tok := range map[string]string{
		"alg none":                        unsigned,
		"HS256 keyed with the public key": hs256,
		"wrong issuer":                    sign(claims(func(m map[string]interface{}) { m["iss"] = "https://evil.example" })),
		"wrong audience":                  sign(claims(func(m map[string]interface{}) { m["aud"] = []string{"someone-else"} })),
		"expired":                         sign(claims(func(m map[string]interface{}) { m["exp"] = now.Add(-2 * time.Hour).Unix() })),
		"not yet valid":                   sign(claims(func(m map[string]interface{}) { m["nbf"] = now.Add(2 * time.Hour).Unix() })),
		"wrong account uid": sign(claims(func(m map[string]interface{}) {
			m["kubernetes.io"].(map[string]interface{})["serviceaccount"] = map[string]string{"name": "target", "uid": "0000"}
		})),
	} {
		if code, _, _ := whoami(t, tok); code != 401 {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
}

package bootstraptoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The JWS is built here rather than with go-jose: kubeadm's format keys
// HS256 with the 16-byte token secret, which go-jose v4 refuses as too
// short for HS256. The token secret's strength is the token's, whatever
// the MAC's key size.

var b64 = base64.RawURLEncoding

type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
}

// SignDetached returns the detached compact JWS (RFC 7515 appendix F:
// "header..signature", HS256, kid = token id, key = token secret) of
// content: what the bootstrap signer stores as cluster-info's
// jws-kubeconfig-<id>.
func SignDetached(content string, t Token) (string, error) {
	h, err := json.Marshal(jwsHeader{Alg: "HS256", Kid: t.ID})
	if err != nil {
		return "", err
	}
	header := b64.EncodeToString(h)
	return header + ".." + b64.EncodeToString(mac(header, content, t.Secret)), nil
}

func mac(header, content, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(header + "." + b64.EncodeToString([]byte(content))))
	return m.Sum(nil)
}

// VerifyDetached checks that sig is the detached JWS of content for token
// t: HS256 only, the kid naming t's id, the MAC made with t's secret.
func VerifyDetached(content, sig string, t Token) error {
	parts := strings.Split(sig, ".")
	if len(parts) != 3 || parts[1] != "" {
		return errors.New("not a detached JWS (header..signature)")
	}
	raw, err := b64.DecodeString(parts[0])
	if err != nil {
		return fmt.Errorf("JWS header: %w", err)
	}
	var h jwsHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("JWS header: %w", err)
	}
	if h.Alg != "HS256" {
		return fmt.Errorf("JWS algorithm %q, want HS256", h.Alg)
	}
	if subtle.ConstantTimeCompare([]byte(h.Kid), []byte(t.ID)) != 1 {
		return fmt.Errorf("the JWS is for token id %q, not %q", h.Kid, t.ID)
	}
	got, err := b64.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("JWS signature: %w", err)
	}
	if !hmac.Equal(got, mac(parts[0], content, t.Secret)) {
		return errors.New("the JWS does not verify with this token's secret")
	}
	return nil
}

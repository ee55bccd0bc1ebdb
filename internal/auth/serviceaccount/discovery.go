package serviceaccount

import (
	"crypto"
	"encoding/json"
	"sort"

	jose "github.com/go-jose/go-jose/v4"
)

// openIDConfiguration is the subset of OpenID Connect discovery metadata
// Kubernetes serves.
type openIDConfiguration struct {
	Issuer        string   `json:"issuer"`
	JWKSURI       string   `json:"jwks_uri"`
	ResponseTypes []string `json:"response_types_supported"`
	SubjectTypes  []string `json:"subject_types_supported"`
	SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
}

// OpenIDConfiguration returns the document served at
// /.well-known/openid-configuration: issuer, jwks_uri, response type
// id_token, subject type public, and the signing algorithms of keys
// (RS256 when keys is empty or holds no supported key).
func OpenIDConfiguration(issuerURL, jwksURI string, keys ...crypto.PublicKey) []byte {
	seen := map[string]bool{}
	var algs []string
	for _, k := range keys {
		if alg, err := signingAlgorithm(publicOf(k)); err == nil && !seen[string(alg)] {
			seen[string(alg)] = true
			algs = append(algs, string(alg))
		}
	}
	if len(algs) == 0 {
		algs = []string{string(jose.RS256)}
	}
	sort.Strings(algs)
	b, _ := json.Marshal(openIDConfiguration{
		Issuer: issuerURL, JWKSURI: jwksURI,
		ResponseTypes: []string{"id_token"}, SubjectTypes: []string{"public"}, SigningAlgs: algs,
	})
	return b
}

// JWKS returns the JSON Web Key Set served at /openid/v1/jwks: each key's
// public half with "use": "sig", its algorithm and its KeyID. Private keys
// are reduced to their public half; keys of unsupported types are left
// out, as are duplicates.
func JWKS(keys []crypto.PublicKey) []byte {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	seen := map[string]bool{}
	for _, k := range keys {
		k = publicOf(k)
		alg, err := signingAlgorithm(k)
		if err != nil {
			continue
		}
		kid, err := KeyID(k)
		if err != nil || seen[kid] {
			continue
		}
		seen[kid] = true
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(alg), Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		return []byte(`{"keys":[]}`)
	}
	return b
}

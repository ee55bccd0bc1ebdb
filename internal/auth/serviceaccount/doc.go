// Package serviceaccount issues and verifies service-account tokens as
// Kubernetes does: Issuer signs bound tokens for the TokenRequest API
// (serviceaccounts/token) and legacy tokens for
// kubernetes.io/service-account-token Secrets; Authenticator verifies
// both as an authn.TokenAuthenticator (put it in an
// authn.BearerTokenUnion); OpenIDConfiguration and JWKS build the OIDC
// discovery documents served at /.well-known/openid-configuration and
// /openid/v1/jwks; ParsePublicKeys, LoadPublicKeyFiles and
// LoadSigningKeyFile read --service-account-key-file and
// --service-account-signing-key-file.
//
// Tokens are JWS compact serialisations signed with RS256 (RSA keys) or
// ES256 (P-256; ES384/ES512 for P-384/P-521) and carry "kid" = KeyID of
// the signing key. Only those asymmetric algorithms verify: "none" and
// HMAC are refused before any key is tried.
package serviceaccount

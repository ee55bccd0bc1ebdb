// Package authn authenticates requests. Each method is an Authenticator;
// Union tries them in order and the first that accepts wins. A credential
// that is presented but invalid is an error (401), never a fall-through to
// anonymous.
//
// The methods: X509 (client certificates, with an optional
// RevocationList), BasicAuth (--basic-auth-file, deprecated), Anonymous,
// and BearerTokenUnion, which takes the "Authorization: Bearer" token and
// asks its TokenAuthenticators — TokenFile (--token-auth-file),
// BootstrapToken, and the service-account JWT authenticator of package
// serviceaccount. A bearer token that none of them accepts is
// ErrInvalidBearerToken, so the server must put the BearerTokenUnion in
// its Union rather than each token authenticator on its own:
//
//	authn.Union{x509, basic, authn.BearerTokenUnion{tokens, bootstrap, sa}, authn.Anonymous{}}
//
// File-backed authenticators (token, basic-auth and revocation files)
// re-read their file on use when it changed, at most once per reload
// interval; a change that fails to parse keeps the previous content and is
// logged.
package authn

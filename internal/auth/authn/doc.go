// Package authn authenticates requests. Each method is an Authenticator;
// Union tries them in order and the first that accepts wins. A credential
// that is presented but invalid is an error (401), never a fall-through to
// anonymous.
package authn

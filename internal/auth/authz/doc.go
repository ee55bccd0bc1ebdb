// Package authz decides whether an authenticated user may do what a
// request asks. Authorizers are small and composable; the chain denies by
// default.
package authz

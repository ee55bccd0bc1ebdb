// Package user defines the identity that authentication produces and the
// rest of the server (authorization, admission, strategies) consumes.
package user

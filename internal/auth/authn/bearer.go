package authn

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

// TokenAuthenticator checks a bearer token. It returns (nil, false, nil)
// when the token is not of its kind (not in its file, not of its format,
// a JWT of another issuer), so that the next token authenticator may try,
// and an error when the token is of its kind but invalid (expired, wrong
// secret, revoked).
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (*user.Info, bool, error)
}

// ErrInvalidBearerToken is returned by BearerTokenUnion when a request
// presents a bearer token that no token authenticator accepts. The server
// answers it with 401, never by falling through to anonymous.
var ErrInvalidBearerToken = errors.New("invalid bearer token")

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header. present reports whether the header uses the Bearer scheme at
// all (case-insensitive, as RFC 6750 allows); a present but empty or
// malformed token comes back as ("", true).
func BearerToken(r *http.Request) (token string, present bool) {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(rest)
	if strings.ContainsAny(token, " \t") {
		return "", true
	}
	return token, true
}

// BearerTokenUnion is the request authenticator for bearer tokens: it
// takes the token from the Authorization header and asks each token
// authenticator in turn (static token file, bootstrap tokens, service
// account JWTs). The first that accepts wins. A request without a bearer
// token yields (nil, false, nil) so that the next request authenticator
// (for example Anonymous) may try; a request with one that nobody accepts
// yields an error — the error of the authenticators that recognised but
// rejected it, or ErrInvalidBearerToken — so the server answers 401.
//
// Unlike Union, a rejection does not stop the search: token formats
// overlap (a static token may look like a bootstrap token), so a later
// authenticator still gets its chance. An empty union rejects every
// presented token.
type BearerTokenUnion []TokenAuthenticator

var _ Authenticator = BearerTokenUnion(nil)

// Authenticate implements Authenticator.
func (u BearerTokenUnion) Authenticate(r *http.Request) (*user.Info, bool, error) {
	return authenticateBearer(r, u)
}

// authenticateBearer asks t about the request's bearer token: no token is
// (nil, false, nil), an empty or malformed one ErrInvalidBearerToken.
func authenticateBearer(r *http.Request, t TokenAuthenticator) (*user.Info, bool, error) {
	token, present := BearerToken(r)
	if !present {
		return nil, false, nil
	}
	if token == "" {
		return nil, false, ErrInvalidBearerToken
	}
	return t.AuthenticateToken(r.Context(), token)
}

// AuthenticateToken checks token against each authenticator (this is also
// what TokenReview calls). A token nobody accepts is an error.
func (u BearerTokenUnion) AuthenticateToken(ctx context.Context, token string) (*user.Info, bool, error) {
	var errs []error
	for _, a := range u {
		info, ok, err := a.AuthenticateToken(ctx, token)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			return info, true, nil
		}
	}
	if len(errs) == 0 {
		return nil, false, ErrInvalidBearerToken
	}
	return nil, false, errors.Join(append([]error{ErrInvalidBearerToken}, errs...)...)
}

// audiencesKey is the context key of WithAudiences.
type audiencesKey struct{}

// WithAudiences returns ctx carrying the audiences a token must be meant
// for (TokenReview's spec.audiences). Token authenticators that check
// audiences use them instead of their configured API audiences.
func WithAudiences(ctx context.Context, auds []string) context.Context {
	return context.WithValue(ctx, audiencesKey{}, append([]string(nil), auds...))
}

// AudiencesFrom returns the audiences set by WithAudiences, and whether
// any were set.
func AudiencesFrom(ctx context.Context) ([]string, bool) {
	a, ok := ctx.Value(audiencesKey{}).([]string)
	return a, ok && len(a) > 0
}

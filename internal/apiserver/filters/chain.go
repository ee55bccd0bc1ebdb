package filters

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/kastle-dev/kastle/internal/auth/authn"
	"github.com/kastle-dev/kastle/internal/auth/authz"
)

// Config holds what the chain needs. Every field is required.
type Config struct {
	Log                 *slog.Logger
	Authenticator       authn.Authenticator
	Authorizer          authz.Authorizer
	MaxRequestsInFlight int
	MaxMutatingInFlight int
	Metrics             Observer
	// RequestTimeout bounds every request but watches: past it the
	// request's context ends and the client gets 504.
	RequestTimeout time.Duration
	// Audit wraps the rest of the chain in the audit filter; a
	// pass-through when auditing is off.
	Audit func(http.Handler) http.Handler
}

// Chain wraps handler in the filters, outermost first: panic recovery →
// request info → metrics → max in-flight → authentication → audit →
// impersonation → authorization → request timeout.
func Chain(handler http.Handler, c Config) http.Handler {
	h := handler
	h = WithRequestTimeout(h, c.RequestTimeout)
	h = WithAuthorization(h, c.Authorizer)
	h = WithImpersonation(h, c.Authorizer)
	h = c.Audit(h)
	h = WithAuthentication(h, c.Authenticator)
	h = WithMaxInFlight(h, c.MaxRequestsInFlight, c.MaxMutatingInFlight)
	h = WithMetrics(h, c.Metrics)
	h = WithRequestInfo(h)
	h = WithPanicRecovery(h, c.Log)
	return h
}

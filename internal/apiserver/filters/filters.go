package filters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/apiserver/status"
	"github.com/kastle-dev/kastle/internal/auth/authn"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// WithPanicRecovery turns a handler panic into a 500 Status and a log
// line, keeping the server up. http.ErrAbortHandler is re-raised: it is
// net/http's way to abort a response.
func WithPanicRecovery(next http.Handler, log *slog.Logger) http.Handler {
	if log == nil {
		panic("filters: WithPanicRecovery needs a logger")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				status.Write(w, apierrors.NewInternalError(fmt.Errorf("an internal error occurred")))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// WithRequestInfo parses what the request asks for into the context.
func WithRequestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := request.ParseInfo(r)
		if err != nil {
			status.Write(w, apierrors.NewNotFound(schema.GroupResource{}, r.URL.Path))
			return
		}
		next.ServeHTTP(w, r.WithContext(request.WithInfo(r.Context(), info)))
	})
}

// WithMaxInFlight limits concurrent requests: read-only and mutating
// requests have separate budgets and long-running ones (watch) none.
// Over the budget, 429 with Retry-After.
func WithMaxInFlight(next http.Handler, maxReadOnly, maxMutating int) http.Handler {
	if maxReadOnly <= 0 || maxMutating <= 0 {
		panic("filters: WithMaxInFlight needs positive limits")
	}
	readOnly := make(chan struct{}, maxReadOnly)
	mutating := make(chan struct{}, maxMutating)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, ok := requestInfo(w, r)
		if !ok {
			return
		}
		if isLongRunning(info) {
			next.ServeHTTP(w, r)
			return
		}
		sem := readOnly
		switch info.Verb {
		case "create", "update", "patch", "delete", "deletecollection", "post", "put":
			sem = mutating
		}
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
			next.ServeHTTP(w, r)
		default:
			status.Write(w, apierrors.NewTooManyRequests("too many requests, please try again later", 1))
		}
	})
}

// WithAuthentication identifies the caller; no accepted identity or a bad
// credential is 401.
func WithAuthentication(next http.Handler, a authn.Authenticator) http.Handler {
	if a == nil {
		panic("filters: WithAuthentication needs an authenticator")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok, err := a.Authenticate(r)
		if err != nil || !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="kubernetes-master"`)
			status.Write(w, status.Unauthorized())
			return
		}
		if u.Name != authn.AnonymousUser {
			u.Groups = appendMissing(u.Groups, authn.GroupAuthenticated)
		}
		// The credential is not needed past this point.
		r.Header.Del("Authorization")
		next.ServeHTTP(w, r.WithContext(request.WithUser(r.Context(), u)))
	})
}

func appendMissing(groups []string, g string) []string {
	for _, x := range groups {
		if x == g {
			return groups
		}
	}
	return append(groups, g)
}

// WithAuthorization asks the authorizer; anything but Allow is 403 with a
// Status naming user, verb and resource.
func WithAuthorization(next http.Handler, z authz.Authorizer) http.Handler {
	if z == nil {
		panic("filters: WithAuthorization needs an authorizer")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, ok := request.InfoFrom(r.Context())
		u, uok := request.UserFrom(r.Context())
		if !ok || !uok {
			status.Write(w, errors.New("request info or user missing"))
			return
		}
		d, reason, err := z.Authorize(r.Context(), authz.Attributes{User: u, Info: info})
		if err == nil && d == authz.Allow {
			next.ServeHTTP(w, r)
			return
		}
		status.Write(w, forbidden(u, info, reason))
	})
}

// forbidden builds kube-apiserver's 403: NewForbidden prefixes the
// resource ("configmaps \"x\" is forbidden: ") to the sentence built here.
func forbidden(u *user.Info, info *request.Info, reason string) error {
	var msg string
	gr := schema.GroupResource{Group: info.APIGroup, Resource: info.Resource}
	if info.IsResourceRequest {
		res := info.Resource
		if info.Subresource != "" {
			res += "/" + info.Subresource
		}
		scope := "at the cluster scope"
		if info.Namespace != "" {
			scope = fmt.Sprintf("in the namespace %q", info.Namespace)
		}
		msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q %s", u.Name, info.Verb, res, info.APIGroup, scope)
	} else {
		gr = schema.GroupResource{}
		msg = fmt.Sprintf("User %q cannot %s path %q", u.Name, info.Verb, info.Path)
	}
	if reason != "" {
		msg += ": " + reason
	}
	return apierrors.NewForbidden(gr, info.Name, errors.New(msg))
}

// Observer records request metrics.
type Observer interface {
	Observe(r *http.Request, info *request.Info, code int, elapsed time.Duration)
	InFlight(delta int)
}

// WithMetrics records each request's verb, resource, code and latency.
func WithMetrics(next http.Handler, o Observer) http.Handler {
	if o == nil {
		panic("filters: WithMetrics needs an observer")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		o.InFlight(1)
		defer func() {
			o.InFlight(-1)
			info, _ := request.InfoFrom(r.Context())
			o.Observe(r, info, rec.code, time.Since(start))
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the response code and keeps Flush working for
// watches.
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.code, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// WithRequestTimeout gives every request but watches a deadline: the
// smaller of d and the request's own ?timeout=. Storage calls stop at the
// deadline and the client gets 504 (see status.FromError).
func WithRequestTimeout(next http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		panic("filters: WithRequestTimeout needs a positive timeout")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, ok := requestInfo(w, r)
		if !ok {
			return
		}
		if isLongRunning(info) {
			next.ServeHTTP(w, r)
			return
		}
		timeout := d
		if s := r.URL.Query().Get("timeout"); s != "" {
			t, err := time.ParseDuration(s)
			if err != nil || t <= 0 {
				status.Write(w, apierrors.NewBadRequest(fmt.Sprintf("invalid timeout %q: a positive duration like 30s is required", s)))
				return
			}
			if t < timeout {
				timeout = t
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requestInfo returns the Info WithRequestInfo stored; when it is missing
// (a mis-assembled chain) it answers 500 and reports false: fail closed.
func requestInfo(w http.ResponseWriter, r *http.Request) (*request.Info, bool) {
	info, ok := request.InfoFrom(r.Context())
	if !ok {
		status.Write(w, errors.New("request info missing"))
	}
	return info, ok
}

// isLongRunning reports requests that stream (watches, proxies and the
// connection-style subresources, kube-apiserver's list, which aggregated
// API servers rely on too): they are neither counted against the
// in-flight limits nor given the request deadline.
func isLongRunning(info *request.Info) bool {
	switch info.Verb {
	case "watch", "proxy":
		return true
	}
	switch info.Subresource {
	case "attach", "exec", "proxy", "log", "portforward":
		return true
	}
	return false
}

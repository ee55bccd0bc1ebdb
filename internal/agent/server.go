package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// subresource maps a request path to the nodes subresource that authorizes
// it, as kubelet does: /stats/* → stats, /metrics/* → metrics, /logs/* →
// log, /spec/* → spec, /checkpoint/* → checkpoint, everything else
// (/healthz, /pods, /configz, ...) → proxy.
func subresource(path string) string {
	for _, m := range []struct{ prefix, sub string }{
		{"/stats", "stats"}, {"/metrics", "metrics"}, {"/logs", "log"}, {"/spec", "spec"}, {"/checkpoint", "checkpoint"},
	} {
		if path == m.prefix || strings.HasPrefix(path, m.prefix+"/") {
			return m.sub
		}
	}
	return "proxy"
}

// verb maps an HTTP method to an API verb, as kubelet does.
func verb(method string) string {
	switch method {
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return "get"
}

type userKey struct{}

// withUser returns ctx carrying the authenticated caller.
func withUser(ctx context.Context, u *userInfo) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// userFrom returns the caller withAuthentication found, or nil.
func userFrom(ctx context.Context) *userInfo {
	u, _ := ctx.Value(userKey{}).(*userInfo)
	return u
}

// withAuthentication answers 401 unless authn finds the caller, and
// passes the caller on in the request's context.
func withAuthentication(next http.Handler, authn authenticator, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := authn.Authenticate(r)
		if err != nil {
			log.Warn("authentication failed", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		}
		if u == nil {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(withUser(r.Context(), u)))
	})
}

// withAuthorization answers 403 unless authz allows the caller verb on
// nodes/<subresource> of this node; an authorizer error is a denial, and
// a request without a caller (a chain built wrongly) is refused with 401.
func withAuthorization(next http.Handler, authz authorizer, node string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := userFrom(r.Context())
		if u == nil {
			log.Error("request without an authenticated user reached authorization", "path", r.URL.Path)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		attrs := attributes{Verb: verb(r.Method), Subresource: subresource(r.URL.Path), Node: node}
		ok, reason, err := authz.Authorize(r.Context(), u, attrs)
		if err != nil {
			log.Warn("authorization failed", "path", r.URL.Path, "user", u.Name, "err", err)
		}
		if !ok {
			msg := fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource(s)=[%s])", u.Name, attrs.Verb, attrs.Subresource)
			if reason != "" {
				msg += ": " + reason
			}
			http.Error(w, msg, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withChain is the order of the filters, in one place: authentication,
// then authorization, then the handler.
func withChain(h http.Handler, authn authenticator, authz authorizer, node string, log *slog.Logger) http.Handler {
	return withAuthentication(withAuthorization(h, authz, node, log), authn, log)
}

// apiHandler is the agent's API behind authentication and authorization.
func (a *Agent) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /pods", a.servePods)
	mux.HandleFunc("GET /pods/", a.servePods)
	mux.HandleFunc("GET /configz", a.serveConfigz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.reg, promhttp.HandlerOpts{}))
	authn := unionAuthenticator{
		&x509Authenticator{roots: a.conn.roots, now: a.now},
		&tokenReviewAuthenticator{client: a.clientset, cache: newTTLCache[*userInfo](a.now)},
	}
	authz := &sarAuthorizer{client: a.clientset, cache: newTTLCache[sarResult](a.now)}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		mux.ServeHTTP(rw, r)
		a.metrics.requests.WithLabelValues(subresource(r.URL.Path), strconv.Itoa(rw.code)).Inc()
	})
	return withChain(counted, authn, authz, a.cfg.NodeName, a.log)
}

// servePods lists the pods bound to this node, as a PodList.
func (a *Agent) servePods(w http.ResponseWriter, r *http.Request) {
	list, err := a.clientset().CoreV1().Pods(metav1.NamespaceAll).List(r.Context(), metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", a.cfg.NodeName).String(),
	})
	if err != nil {
		a.log.Warn("listing pods", "err", err)
		http.Error(w, "listing this node's pods failed", http.StatusInternalServerError)
		return
	}
	list.APIVersion, list.Kind = "v1", "PodList"
	writeJSON(w, list)
}

// serveConfigz answers with the configuration under kubelet's key, with
// durations written as kubelet writes them ("10s").
func (a *Agent) serveConfigz(w http.ResponseWriter, _ *http.Request) {
	type view struct {
		*Config
		NodeStatusUpdateFrequency metav1.Duration `json:"nodeStatusUpdateFrequency"`
		LeaseRenewInterval        metav1.Duration `json:"leaseRenewInterval"`
		BootstrapTimeout          metav1.Duration `json:"bootstrapTimeout"`
		ServingCSRTimeout         metav1.Duration `json:"servingCSRTimeout"`
		Port                      int32           `json:"port"`
	}
	c := a.cfg
	writeJSON(w, map[string]any{"kubeletconfig": view{Config: c,
		NodeStatusUpdateFrequency: metav1.Duration{Duration: c.NodeStatusUpdateFrequency},
		LeaseRenewInterval:        metav1.Duration{Duration: c.LeaseRenewInterval},
		BootstrapTimeout:          metav1.Duration{Duration: c.BootstrapTimeout},
		ServingCSRTimeout:         metav1.Duration{Duration: c.ServingCSRTimeout},
		Port:                      a.port.Load(),
	}})
}

func writeJSON(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
}

// statusWriter remembers the status code for the request metric.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

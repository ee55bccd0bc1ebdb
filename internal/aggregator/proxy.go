package aggregator

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/apiserver/status"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

var _ http.Handler = (*Aggregator)(nil)

// ServeHTTP proxies a request for a remote APIService's group version to
// its server, as the authenticated user of the request context (missing:
// 500, never an anonymous pass). An APIService that is not available, or
// a server that cannot be reached, is a 503 Status; a path no APIService
// routes is a 404. Bodies stream both ways: watches are flushed as they
// come and upgraded connections (exec-style) are spliced.
func (a *Aggregator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, ok := a.target(r.URL.Path)
	if !ok {
		status.Write(w, apierrors.NewNotFound(schema.GroupResource{}, r.URL.Path))
		return
	}
	u, ok := request.UserFrom(r.Context())
	if !ok {
		status.Write(w, fmt.Errorf("aggregator: no authenticated user for %s", r.URL.Path))
		return
	}
	if !b.available || b.transport == nil {
		status.Write(w, apierrors.NewServiceUnavailable("service unavailable"))
		return
	}
	a.proxy(w, r, b, u)
}

// proxy sends r to b's server as u, streaming.
func (a *Aggregator) proxy(w http.ResponseWriter, r *http.Request, b *backend, u *user.Info) {
	host, err := a.resolve(r.Context(), b.spec.Service)
	if err != nil {
		a.recheck()
		status.Write(w, apierrors.NewServiceUnavailable(fmt.Sprintf("service unavailable: %v", err)))
		return
	}
	target := endpointURL(host, r.URL)
	transport := b.transport
	if r.Header.Get("Upgrade") != "" {
		transport = b.upgrades
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = serverName(b.spec.Service)
			a.setIdentity(pr.Out.Header, u)
		},
		Transport:  transport,
		BufferPool: &a.buffers,
		// Responses of unknown length (watches) are flushed as written
		// by httputil already; others are copied without buffering.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away
			}
			a.recheck()
			status.Write(w, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach service: %v", err)))
		},
	}
	rp.ServeHTTP(w, r)
}

// bufferPool recycles the reverse proxy's 32 KB copy buffers, otherwise
// allocated per request.
type bufferPool struct{ p sync.Pool }

var _ httputil.BufferPool = (*bufferPool)(nil)

func (b *bufferPool) Get() []byte {
	if x, ok := b.p.Get().(*[]byte); ok {
		return *x
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }

func (a *Aggregator) recheck() {
	if a.cfg.Recheck != nil {
		a.cfg.Recheck()
	}
}

// RoutesOpenAPI reports whether path is the OpenAPI v3 document of a
// remote APIService's group version (/openapi/v3/apis/<group>/<version>).
func (a *Aggregator) RoutesOpenAPI(path string) bool {
	rest, ok := strings.CutPrefix(path, "/openapi/v3")
	if !ok || strings.Count(rest, "/") != 3 {
		return false
	}
	return a.Routes(rest)
}

// ServeOpenAPI proxies an OpenAPI v3 document request (see RoutesOpenAPI)
// to the server, as the aggregator itself: the document is public to
// every user kastle let through, as kastle's own are.
func (a *Aggregator) ServeOpenAPI(w http.ResponseWriter, r *http.Request) {
	b, ok := a.target(strings.TrimPrefix(r.URL.Path, "/openapi/v3"))
	if !ok || !b.available {
		status.Write(w, apierrors.NewServiceUnavailable("service unavailable"))
		return
	}
	a.proxy(w, r, b, selfUser)
}

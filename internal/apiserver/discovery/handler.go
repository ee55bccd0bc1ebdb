package discovery

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/status"
)

// Handler serves the discovery documents of one catalogue. Safe for
// concurrent use; documents are rebuilt lazily when the catalogue's
// generation changes.
type Handler struct {
	cat *apis.Catalogue
	ext Externals  // nil: no aggregated API servers
	mu  sync.Mutex // serialises rebuilds so a burst after a change builds once
	doc atomic.Pointer[documents]
}

// Externals supplies the group versions other servers serve (API
// aggregation). Generation must change whenever External's answer does.
type Externals interface {
	Generation() uint64
	External() []External
}

// SetExternals merges the group versions of e into every document. Call it
// before serving.
func (h *Handler) SetExternals(e Externals) { h.ext = e }

var _ http.Handler = (*Handler)(nil)

// New returns a handler serving the discovery documents of cat. cat must
// not be nil. Nothing is built until the first request.
func New(cat *apis.Catalogue) *Handler {
	if cat == nil {
		panic("discovery: nil catalogue")
	}
	return &Handler{cat: cat}
}

// Match reports whether path is a discovery path this handler serves:
// /api, /api/<version>, /apis, /apis/<group> or /apis/<group>/<version>,
// each with or without one trailing slash. Resource paths such as
// /api/v1/pods are not discovery paths.
func Match(path string) bool {
	kind, _, _ := route(path)
	return kind != routeNone
}

// Route kinds.
const (
	routeNone = iota
	routeAPI
	routeAPIVersion
	routeAPIs
	routeGroup
	routeGroupVersion
)

// route classifies a discovery path, returning its group and version.
func route(path string) (kind int, group, version string) {
	path = strings.TrimSuffix(path, "/")
	var rest string
	var ok bool
	switch {
	case path == "/api":
		return routeAPI, "", ""
	case path == "/apis":
		return routeAPIs, "", ""
	}
	if rest, ok = strings.CutPrefix(path, "/api/"); ok {
		if rest == "" || strings.Contains(rest, "/") {
			return routeNone, "", ""
		}
		return routeAPIVersion, "", rest
	}
	if rest, ok = strings.CutPrefix(path, "/apis/"); !ok {
		return routeNone, "", ""
	}
	parts := strings.Split(rest, "/")
	for _, p := range parts {
		if p == "" {
			return routeNone, "", ""
		}
	}
	switch len(parts) {
	case 1:
		return routeGroup, parts[0], ""
	case 2:
		return routeGroupVersion, parts[0], parts[1]
	}
	return routeNone, "", ""
}

// ServeHTTP answers GET requests for the discovery paths (see Match);
// other methods get 405, other paths 404, an Accept header that allows
// nothing the endpoint produces 406, each as a metav1.Status.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind, group, version := route(r.URL.Path)
	if kind == routeNone {
		writeNotFound(w)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		status.WriteStatus(w, failure(http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
			fmt.Sprintf("the server does not allow this method on the requested resource: %s %s", r.Method, r.URL.Path)))
		return
	}
	aggregated := kind == routeAPI || kind == routeAPIs
	f := negotiate(r.Header.Get("Accept"), aggregated)
	if f == formatNone {
		offered := ContentTypeJSON
		if aggregated {
			offered = ContentTypeAggregatedV2 + ", " + ContentTypeAggregatedV2beta1 + ", " + ContentTypeJSON
		}
		status.WriteStatus(w, failure(http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable,
			"only the following media types are accepted: "+offered))
		return
	}
	d, err := h.documents()
	if err != nil {
		status.Write(w, err)
		return
	}

	switch kind {
	case routeAPI, routeAPIs:
		root := rootAPI
		if kind == routeAPIs {
			root = rootAPIs
		}
		switch f {
		case formatAggregatedV2:
			writeAggregated(w, r, d.aggregated[root][aggV2], ContentTypeAggregatedV2)
		case formatAggregatedV2b1:
			writeAggregated(w, r, d.aggregated[root][aggV2beta1], ContentTypeAggregatedV2beta1)
		default:
			// The same URL answers differently by Accept; say so to
			// caches (client-go's disk cache honours Vary).
			w.Header().Set("Vary", "Accept")
			if root == rootAPIs {
				writeJSON(w, d.groupList)
				return
			}
			h.writeAPIVersions(w, r, d)
		}
	case routeAPIVersion, routeGroupVersion:
		data, ok := d.resourceLists[schema.GroupVersion{Group: group, Version: version}]
		if !ok {
			writeNotFound(w)
			return
		}
		writeJSON(w, data)
	case routeGroup:
		data, ok := d.groups[group]
		if !ok {
			writeNotFound(w)
			return
		}
		writeJSON(w, data)
	}
}

// documents returns the documents of the catalogue's current generation,
// building them if the cached ones are older. The generation is read
// before the resources, so a change racing with a build at worst causes
// one more rebuild, never a stale cache.
func (h *Handler) documents() (*documents, error) {
	gen := h.generation()
	if d := h.doc.Load(); d != nil && d.gen == gen {
		return d, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	gen = h.generation()
	if d := h.doc.Load(); d != nil && d.gen == gen {
		return d, nil
	}
	var ext []External
	if h.ext != nil {
		ext = h.ext.External()
	}
	d, err := build(gen, h.cat.Resources(), ext...)
	if err != nil {
		return nil, fmt.Errorf("discovery: building documents of catalogue generation %d: %w", gen, err)
	}
	h.doc.Store(d)
	return d, nil
}

// generation identifies the inputs of the documents: the catalogue's and
// the externals' generations.
func (h *Handler) generation() [2]uint64 {
	g := [2]uint64{h.cat.Generation()}
	if h.ext != nil {
		g[1] = h.ext.Generation()
	}
	return g
}

// writeAPIVersions sends the legacy /api document. It names the address
// the client reached the server at, so it is encoded per request (it is a
// few dozen bytes). Like kube-apiserver it carries no apiVersion.
func (h *Handler) writeAPIVersions(w http.ResponseWriter, r *http.Request, d *documents) {
	v := metav1.APIVersions{
		TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
		Versions: append([]string{}, d.coreVersions...),
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
			{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host},
		},
	}
	data, err := json.Marshal(v)
	if err != nil {
		status.Write(w, err)
		return
	}
	writeJSON(w, data)
}

// writeAggregated sends an aggregated document with the caching headers
// kube-apiserver sends, or 304 when the client holds the same entity.
func writeAggregated(w http.ResponseWriter, r *http.Request, b body, contentType string) {
	hdr := w.Header()
	hdr.Set("ETag", b.etag)
	hdr.Set("Vary", "Accept")
	hdr.Set("Cache-Control", "public")
	if etagMatches(r.Header.Get("If-None-Match"), b.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", contentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.data)
}

// etagMatches applies If-None-Match: a list of entity tags or "*". Weak
// tags compare by their opaque part, as RFC 9110 asks for this header.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, data []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", ContentTypeJSON)
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// writeNotFound sends the 404 kube-apiserver sends for an unknown path.
func writeNotFound(w http.ResponseWriter) {
	st := failure(http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
	st.Details = &metav1.StatusDetails{}
	status.WriteStatus(w, st)
}

func failure(code int32, reason metav1.StatusReason, msg string) *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Code:     code,
		Reason:   reason,
		Message:  msg,
	}
}

package openapi

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Media types of the served documents.
const (
	mediaJSON = "application/json"
	// mediaV2Proto is what kubectl asks for; kube-apiserver answers with
	// mediaV2ProtoAlt as the Content-Type, and accepts both.
	mediaV2Proto    = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	mediaV2ProtoAlt = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
)

var _ http.Handler = (*Service)(nil)

// ServeHTTP serves GET and HEAD of /openapi/v2, /openapi/v3 and
// /openapi/v3/<api/v1 | apis/group/version>. Unknown paths and
// group-versions get a 404 Status; other methods a 405.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, "the OpenAPI documents are read-only: "+r.Method+" is not allowed")
		return
	}
	st := s.state.Load()
	switch p := r.URL.Path; {
	case p == "/openapi/v2":
		s.serveV2(w, r, st)
	case p == "/openapi/v3":
		w.Header().Set("Cache-Control", "no-cache, private")
		writeBody(w, r, mediaJSON, s.indexWithExternal(st), "")
	case strings.HasPrefix(p, "/openapi/v3/"):
		s.serveGV(w, r, st, strings.TrimPrefix(p, "/openapi/v3/"))
	default:
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "no OpenAPI document at "+strconv.Quote(p))
	}
}

func (s *Service) serveGV(w http.ResponseWriter, r *http.Request, st *state, path string) {
	e, ok := st.byPath[path]
	if !ok {
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "no OpenAPI v3 document for group-version "+strconv.Quote(path))
		return
	}
	if _, ok := negotiate(r.Header.Get("Accept"), mediaJSON); !ok {
		writeStatus(w, http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable, "only application/json is served for OpenAPI v3 documents")
		return
	}
	d := s.gvDoc(e)
	if d.err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "building the OpenAPI document of "+path+": "+d.err.Error())
		return
	}
	h := w.Header()
	h.Set("Vary", "Accept")
	if q, ok := r.URL.Query()["hash"]; ok {
		if len(q) != 1 || q[0] != d.hash {
			// The document changed since the client read the index: send
			// it to the current, immutable URL.
			h.Set("Cache-Control", "no-cache, private")
			http.Redirect(w, r, "/openapi/v3/"+path+"?hash="+d.hash, http.StatusMovedPermanently)
			return
		}
		h.Set("Cache-Control", "public, immutable")
	} else {
		h.Set("Cache-Control", "no-cache, private")
	}
	writeBody(w, r, mediaJSON, d.body, d.hash)
}

func (s *Service) serveV2(w http.ResponseWriter, r *http.Request, st *state) {
	mt, ok := negotiate(r.Header.Get("Accept"), mediaJSON, mediaV2Proto, mediaV2ProtoAlt)
	if !ok {
		writeStatus(w, http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable, "the OpenAPI v2 document is served as application/json or "+mediaV2Proto)
		return
	}
	var enc *encoded
	m := s.externalV2(st.v2)
	switch {
	case mt == mediaJSON && m != nil:
		enc = m.json
	case mt == mediaJSON:
		enc = s.v2JSON(st.v2)
	case m != nil:
		enc, mt = m.proto(), mediaV2ProtoAlt
	default:
		enc, mt = s.v2Proto(st.v2), mediaV2ProtoAlt
	}
	if enc.err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, enc.err.Error())
		return
	}
	w.Header().Set("Vary", "Accept")
	w.Header().Set("Cache-Control", "no-cache, private")
	writeBody(w, r, mt, enc.body, enc.hash)
}

// writeBody writes a document with its ETag, answering a matching
// If-None-Match with 304.
func writeBody(w http.ResponseWriter, r *http.Request, contentType string, body []byte, hash string) {
	h := w.Header()
	if hash != "" {
		etag := strconv.Quote(hash)
		h.Set("ETag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// negotiate picks the offer the Accept header prefers (by q-value, then
// order); an empty header accepts the first offer. A wildcard chooses the
// first offer.
func negotiate(accept string, offers ...string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return offers[0], true
	}
	type choice struct {
		offer string
		q     float64
		pos   int
	}
	var best []choice
	for i, part := range strings.Split(accept, ",") {
		// Parsed by hand: mime.ParseMediaType rejects the '@' in
		// kubectl's protobuf media type.
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		if mt == "" {
			continue
		}
		q := 1.0
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
			if strings.TrimSpace(k) == "q" {
				if x, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = x
				}
			}
		}
		if q <= 0 {
			continue
		}
		for _, o := range offers {
			if mt == o || mt == "*/*" || (strings.HasSuffix(mt, "/*") && strings.HasPrefix(o, strings.TrimSuffix(mt, "*"))) {
				best = append(best, choice{o, q, i})
				break
			}
		}
	}
	if len(best) == 0 {
		return "", false
	}
	sort.SliceStable(best, func(i, j int) bool { return best[i].q > best[j].q })
	return best[0].offer, true
}

// writeStatus sends an error as a metav1.Status, as every kastle endpoint
// does.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Code: int32(code),
	}
	body, err := json.Marshal(st)
	if err != nil {
		http.Error(w, msg, code)
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

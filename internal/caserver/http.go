package caserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/kastle-dev/kastle/internal/pki"
)

// MaxBodyBytes limits request bodies; a CSR or subject form is a few KiB.
const MaxBodyBytes = 64 << 10

// Media types of the HTTP API.
const (
	ContentTypePKCS10  = "application/pkcs10"
	ContentTypePEM     = "application/x-pem-file"
	ContentTypeCRL     = "application/pkix-crl"
	ContentTypeOCSPReq = "application/ocsp-request"
	ContentTypeOCSPRes = "application/ocsp-response"
	ContentTypeJSON    = "application/json"
)

// Authenticator names the caller of an HTTP request, or returns "" when
// it brought no valid credentials.
type Authenticator func(r *http.Request) string

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// SignedJSON answers the JSON subject form of POST /csr.
type SignedJSON struct {
	CertificateID string `json:"certificateId"`
	Certificate   string `json:"certificate"`
	// PrivateKey is the key the service generated, returned only here.
	PrivateKey string `json:"privateKey,omitempty"`
}

// RevokeRequest is the body of POST /revoke.
type RevokeRequest struct {
	ID     string `json:"id"`
	Reason int    `json:"reason,omitempty"`
}

// route is one path's handlers by method.
type route map[string]http.HandlerFunc

// NewHTTPHandler serves the HTTP API of svc; authn names callers.
func NewHTTPHandler(svc *Service, authn Authenticator) http.Handler {
	if authn == nil {
		panic("caserver: NewHTTPHandler needs an authenticator") // fail closed, visibly
	}
	h := &httpAPI{svc: svc, authn: authn}
	routes := map[string]route{
		"/ca.crt":       {http.MethodGet: h.caCert},
		"/csr-template": {http.MethodGet: h.template},
		"/csr":          {http.MethodPost: h.sign},
		"/certs/":       {http.MethodGet: h.getCert},
		"/revoke":       {http.MethodPost: h.revoke},
		"/crl":          {http.MethodGet: h.crl},
		"/ocsp":         {http.MethodPost: h.ocsp},
		"/ocsp/":        {http.MethodGet: h.ocspGet},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		for _, prefix := range []string{"/certs/", "/ocsp/"} {
			if strings.HasPrefix(path, prefix) {
				path = prefix
			}
		}
		rt, ok := routes[path]
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint %q", r.URL.Path))
			return
		}
		hf, ok := rt[r.Method]
		if !ok {
			allowed := make([]string, 0, len(rt))
			for m := range rt {
				allowed = append(allowed, m)
			}
			sort.Strings(allowed)
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s (allowed: %s)",
				r.Method, r.URL.Path, strings.Join(allowed, ", ")))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		hf(w, r)
	})
}

// httpAPI holds the handlers.
type httpAPI struct {
	svc   *Service
	authn Authenticator
}

// writeError writes a JSON error answer.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", ContentTypeJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(errorBody{Code: code, Message: msg})
}

// writeServiceError maps a service error to its status code.
func writeServiceError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="kastle-ca"`)
		writeError(w, http.StatusUnauthorized, "authentication required: a client certificate or a bearer token")
	case errors.Is(err, ErrForbidden):
		writeError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, ErrBadRequest):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "shutting down")
	default:
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// readBody reads a limited body, answering 413 or 400 itself on failure.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxBodyBytes))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "reading request body: "+err.Error())
		return nil, false
	}
	return data, true
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", ContentTypeJSON)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *httpAPI) caCert(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", ContentTypePEM)
	_, _ = w.Write(pki.EncodeCertPEM(h.svc.CA.Cert))
}

func (h *httpAPI) template(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Template())
}

// sign handles POST /csr: a PEM PKCS #10 request, or the seed's JSON form.
func (h *httpAPI) sign(w http.ResponseWriter, r *http.Request) {
	identity := h.authn(r)
	if identity == "" {
		writeServiceError(w, ErrUnauthenticated)
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != ContentTypePKCS10 && mt != ContentTypeJSON) {
		writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q not supported: send %s (a PEM CSR) or %s",
			r.Header.Get("Content-Type"), ContentTypePKCS10, ContentTypeJSON))
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if mt == ContentTypePKCS10 {
		if !bytes.Contains(body, []byte("-----BEGIN")) {
			// Accept DER as well, as RFC 5967 defines application/pkcs10.
			body = pem.EncodeToMemory(&pem.Block{Type: pki.PEMTypeCSR, Bytes: body})
		}
		out, err := h.svc.SignCSR(identity, r.URL.Query().Get("profile"), body)
		if err != nil {
			writeServiceError(w, err)
			return
		}
		w.Header().Set("Content-Type", ContentTypePEM)
		w.Header().Set("Location", "/certs/"+out.Record.ID)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(out.ChainPEM)
		return
	}
	var req SubjectRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed subject JSON: "+err.Error())
		return
	}
	if q := r.URL.Query().Get("profile"); q != "" && req.Profile == "" {
		req.Profile = q
	}
	out, err := h.svc.SignSubject(identity, req)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	// The key travels once, in this answer; nothing may cache it.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/certs/"+out.Record.ID)
	writeJSON(w, http.StatusCreated, SignedJSON{CertificateID: out.Record.ID, Certificate: string(out.ChainPEM),
		PrivateKey: string(out.KeyPEM)})
}

func (h *httpAPI) getCert(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/certs/")
	rec, err := h.svc.Cert(h.authn(r), id)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), ContentTypeJSON) {
		writeJSON(w, http.StatusOK, rec)
		return
	}
	w.Header().Set("Content-Type", ContentTypePEM)
	_, _ = w.Write([]byte(rec.CertPEM))
}

func (h *httpAPI) revoke(w http.ResponseWriter, r *http.Request) {
	identity := h.authn(r)
	if identity == "" {
		writeServiceError(w, ErrUnauthenticated)
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req RevokeRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.ID == "" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`want {"id": "<serial hex>", "reason": <0-10>}: %v`, err))
		return
	}
	rec, err := h.svc.Revoke(identity, req.ID, req.Reason)
	if err != nil {
		writeServiceError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (h *httpAPI) crl(w http.ResponseWriter, r *http.Request) {
	der, err := h.svc.CRL()
	if err != nil {
		h.svc.Logger.Error("CRL", "err", err)
		writeServiceError(w, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), ContentTypePEM) {
		w.Header().Set("Content-Type", ContentTypePEM)
		_, _ = w.Write(pem.EncodeToMemory(&pem.Block{Type: pki.PEMTypeCRL, Bytes: der}))
		return
	}
	w.Header().Set("Content-Type", ContentTypeCRL)
	_, _ = w.Write(der)
}

func (h *httpAPI) ocsp(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != ContentTypeOCSPReq {
		writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q not supported: send %s",
			r.Header.Get("Content-Type"), ContentTypeOCSPReq))
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	resp, err := h.svc.OCSP(body)
	if err != nil {
		h.svc.Logger.Error("OCSP", "err", err)
		writeServiceError(w, err)
		return
	}
	w.Header().Set("Content-Type", ContentTypeOCSPRes)
	_, _ = w.Write(resp)
}

// ocspGet answers RFC 6960 appendix A.1's GET form: the DER request,
// base64 and URL-encoded, as the last path segment.
func (h *httpAPI) ocspGet(w http.ResponseWriter, r *http.Request) {
	enc := strings.TrimPrefix(r.URL.EscapedPath(), "/ocsp/")
	if unescaped, err := url.PathUnescape(enc); err == nil {
		enc = unescaped
	}
	if len(enc) > MaxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("OCSP request larger than %d bytes", MaxBodyBytes))
		return
	}
	der, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		writeError(w, http.StatusBadRequest, "OCSP GET: the path is not a base64 request: "+err.Error())
		return
	}
	resp, err := h.svc.OCSP(der)
	if err != nil {
		h.svc.Logger.Error("OCSP", "err", err)
		writeServiceError(w, err)
		return
	}
	w.Header().Set("Content-Type", ContentTypeOCSPRes)
	_, _ = w.Write(resp)
}

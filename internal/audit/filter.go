package audit

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/apiserver/status"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// HeaderAuditID is the request and response header carrying the audit ID.
const HeaderAuditID = "Audit-Id"

// maxStatusBytes caps how much of an error response is kept to read its
// Status when the level records no response body.
const maxStatusBytes = 64 << 10

// WithAudit records every request through a as the policy says. It sets
// the Audit-Id response header (reusing a well-formed incoming Audit-ID),
// writes RequestReceived before the handler runs, ResponseStarted when a
// long-running response starts, and ResponseComplete (or Panic) at the
// end, skipping omitted stages. Bodies are kept only at Request and
// RequestResponse, never for sensitive resources.
//
// It fails closed: a request whose context lacks the request info or the
// user (the chain is mis-ordered) is answered 500 after a Metadata event
// carrying AnnotationError, and a request whose RequestReceived event
// cannot be written is refused with 503 before the handler runs, so no
// request executes unaudited. Errors writing later stages are logged.
// WithAudit panics if a is nil.
func WithAudit(next http.Handler, a *Auditor) http.Handler {
	if a == nil {
		panic("audit: WithAudit needs an Auditor")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received := a.now()
		id := auditID(r.Header.Get(HeaderAuditID))
		w.Header().Set(HeaderAuditID, id)

		info, okInfo := request.InfoFrom(r.Context())
		u, okUser := request.UserFrom(r.Context())
		if !okInfo || !okUser {
			base := newEvent(r, id, received)
			base.Verb = strings.ToLower(r.Method)
			if okUser {
				base.User = userInfo(u)
			}
			base.Stage = StageResponseComplete
			base.StageTimestamp = metav1.NewMicroTime(a.now())
			base.ResponseStatus = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Reason: metav1.StatusReasonInternalError}
			base.Annotations = map[string]string{AnnotationError: "request info or user missing from the request context"}
			_ = a.write(&base)
			status.Write(w, apierrors.NewInternalError(errors.New("the request could not be audited")))
			return
		}

		d := a.decide(Attributes{User: u, Info: info})
		if d.level == LevelNone {
			next.ServeHTTP(w, r)
			return
		}
		base := newEvent(r, id, received)
		base.Level = d.level
		base.Verb = info.Verb
		base.User = userInfo(u)
		base.ObjectRef = objectRef(info)
		ac := &auditContext{}
		if d.capped {
			ac.annotations = map[string]string{AnnotationLevelCapped: "sensitive resource: bodies are never recorded"}
		}

		if !d.omit.has(StageRequestReceived) {
			ev := base
			ev.Stage = StageRequestReceived
			ev.StageTimestamp = base.RequestReceivedTimestamp
			ac.fill(&ev)
			if err := a.write(&ev); err != nil {
				status.Write(w, apierrors.NewServiceUnavailable("the audit log is unavailable"))
				return
			}
		}

		var body *captureBody
		if d.level.AtLeast(LevelRequest) && r.Body != nil && r.Body != http.NoBody {
			body = &captureBody{rc: r.Body, max: a.maxBody}
			r.Body = body
		}
		rec := &recorder{
			w:           w,
			a:           a,
			base:        &base,
			ac:          ac,
			longRunning: a.longRun(r),
			emitStarted: !d.omit.has(StageResponseStarted),
		}
		rec.keepBody = d.level == LevelRequestResponse && !rec.longRunning
		rec.max = a.maxBody

		defer func() {
			if v := recover(); v != nil {
				if !d.omit.has(StagePanic) {
					ev := base
					ev.Stage = StagePanic
					ev.StageTimestamp = metav1.NewMicroTime(a.now())
					ev.ResponseStatus = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
						Reason: metav1.StatusReasonInternalError, Message: fmt.Sprintf("APIServer panic'd: %v", v)}
					ac.fill(&ev)
					_ = a.write(&ev)
				}
				panic(v)
			}
		}()
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), auditKey{}, ac)))

		if d.omit.has(StageResponseComplete) {
			return
		}
		ev := base
		ev.Stage = StageResponseComplete
		ev.StageTimestamp = metav1.NewMicroTime(a.now())
		ev.ResponseStatus = rec.responseStatus()
		ac.fill(&ev)
		if body != nil {
			ev.RequestObject = a.bodyJSON(&ev, "request", body.buf, body.over, r.Header.Get("Content-Type"), d.omitManagedFields)
		}
		if rec.keepBody {
			ev.ResponseObject = a.bodyJSON(&ev, "response", rec.buf, rec.over, rec.Header().Get("Content-Type"), d.omitManagedFields)
		}
		_ = a.write(&ev)
	})
}

// auditKey is the context key of the per-request auditContext.
type auditKey struct{}

// auditContext is what later filters add to a request's events.
type auditContext struct {
	mu           sync.Mutex
	annotations  map[string]string
	impersonated *UserInfo
}

func (c *auditContext) fill(ev *Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.annotations) > 0 {
		ev.Annotations = maps.Clone(c.annotations)
	}
	ev.ImpersonatedUser = c.impersonated
}

// AddAnnotation adds key=value to the events of the request ctx belongs
// to that are written from now on; an existing key keeps its value. It
// reports false when the request is not being audited (no WithAudit, or
// level None).
func AddAnnotation(ctx context.Context, key, value string) bool {
	c, ok := ctx.Value(auditKey{}).(*auditContext)
	if !ok {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.annotations == nil {
		c.annotations = map[string]string{}
	}
	if _, exists := c.annotations[key]; !exists {
		c.annotations[key] = value
	}
	return true
}

// SetImpersonatedUser records the user the request acts as; the
// impersonation filter calls it. It reports false when the request is
// not being audited.
func SetImpersonatedUser(ctx context.Context, u *user.Info) bool {
	c, ok := ctx.Value(auditKey{}).(*auditContext)
	if !ok || u == nil {
		return false
	}
	ui := userInfo(u)
	c.mu.Lock()
	c.impersonated = &ui
	c.mu.Unlock()
	return true
}

// captureBody keeps up to max bytes of what the handler reads.
type captureBody struct {
	rc   io.ReadCloser
	max  int64
	buf  []byte
	over bool
}

func (b *captureBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 && !b.over {
		if int64(len(b.buf)+n) > b.max {
			b.over, b.buf = true, nil
		} else {
			b.buf = append(b.buf, p[:n]...)
		}
	}
	return n, err
}

func (b *captureBody) Close() error { return b.rc.Close() }

// recorder watches the response: its code, when it starts, and (when
// asked) its body.
type recorder struct {
	w           http.ResponseWriter
	a           *Auditor
	base        *Event
	ac          *auditContext
	longRunning bool
	emitStarted bool
	keepBody    bool
	max         int64

	code    int
	started bool
	buf     []byte
	over    bool
}

var (
	_ http.ResponseWriter = (*recorder)(nil)
	_ http.Flusher        = (*recorder)(nil)
	_ http.Hijacker       = (*recorder)(nil)
)

func (rw *recorder) Header() http.Header { return rw.w.Header() }

// Unwrap lets http.ResponseController reach the underlying writer.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.w }

func (rw *recorder) WriteHeader(code int) {
	if !rw.started {
		rw.start(code)
	}
	rw.w.WriteHeader(code)
}

func (rw *recorder) start(code int) {
	rw.started, rw.code = true, code
	if rw.longRunning && rw.emitStarted {
		ev := *rw.base
		ev.Stage = StageResponseStarted
		ev.StageTimestamp = metav1.NewMicroTime(rw.a.now())
		ev.ResponseStatus = &metav1.Status{Code: int32(code)}
		rw.ac.fill(&ev)
		_ = rw.a.write(&ev)
	}
}

func (rw *recorder) Write(p []byte) (int, error) {
	if !rw.started {
		rw.start(http.StatusOK)
	}
	limit := int64(maxStatusBytes)
	if rw.keepBody {
		limit = rw.max
	}
	if (rw.keepBody || rw.code >= 400) && !rw.over {
		if int64(len(rw.buf)+len(p)) > limit {
			rw.over, rw.buf = true, nil
		} else {
			rw.buf = append(rw.buf, p...)
		}
	}
	return rw.w.Write(p)
}

// Flush sends buffered data to the client when the underlying writer
// can; watch handlers call it after each event.
func (rw *recorder) Flush() {
	if !rw.started {
		rw.start(http.StatusOK)
	}
	if f, ok := rw.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack hands the connection to the handler (protocol upgrades).
func (rw *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(rw.w).Hijack()
	if err == nil && !rw.started {
		rw.start(http.StatusSwitchingProtocols)
	}
	return conn, brw, err
}

// responseStatus is the code sent and, for errors, the Status body.
func (rw *recorder) responseStatus() *metav1.Status {
	code := rw.code
	if !rw.started {
		code = http.StatusOK
	}
	st := &metav1.Status{Code: int32(code)}
	if code >= 400 && !rw.over && len(rw.buf) > 0 {
		var body metav1.Status
		if json.Unmarshal(rw.buf, &body) == nil && body.Kind == "Status" {
			st.Status, st.Message, st.Reason, st.Details = body.Status, body.Message, body.Reason, body.Details
		}
	}
	return st
}

// bodyJSON returns body as JSON for the event, or nil with a reason in
// the event's annotations.
func (a *Auditor) bodyJSON(ev *Event, which string, body []byte, over bool, contentType string, omitManagedFields bool) json.RawMessage {
	omit := func(why string) json.RawMessage {
		if ev.Annotations == nil {
			ev.Annotations = map[string]string{}
		}
		ev.Annotations[AnnotationBodyOmitted+"-"+which] = why
		return nil
	}
	if over {
		return omit(fmt.Sprintf("larger than %d bytes", a.maxBody))
	}
	if len(body) == 0 {
		return nil
	}
	ct := strings.ToLower(contentType)
	switch {
	case strings.Contains(ct, "protobuf"):
		return omit("protobuf body")
	case strings.Contains(ct, "yaml"):
		j, err := yaml.YAMLToJSON(body)
		if err != nil {
			return omit("invalid YAML")
		}
		body = j
	}
	if !json.Valid(body) {
		return omit("not JSON")
	}
	if omitManagedFields {
		body = stripManagedFields(body)
	}
	return json.RawMessage(body)
}

// stripManagedFields removes metadata.managedFields from an object or
// from the items of a list; other documents are returned unchanged.
func stripManagedFields(body []byte) []byte {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var obj map[string]any
	if dec.Decode(&obj) != nil {
		return body
	}
	changed := dropManagedFields(obj)
	if items, ok := obj["items"].([]any); ok {
		for _, it := range items {
			if m, ok := it.(map[string]any); ok && dropManagedFields(m) {
				changed = true
			}
		}
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return out
}

func dropManagedFields(obj map[string]any) bool {
	md, ok := obj["metadata"].(map[string]any)
	if !ok {
		return false
	}
	if _, ok := md["managedFields"]; !ok {
		return false
	}
	delete(md, "managedFields")
	return true
}

// auditID returns the incoming ID when it is 1–128 printable ASCII
// characters without spaces, else a new random UUID.
func auditID(incoming string) string {
	if n := len(incoming); n > 0 && n <= 128 {
		ok := true
		for i := 0; i < n; i++ {
			if c := incoming[i]; c <= ' ' || c > '~' {
				ok = false
				break
			}
		}
		if ok {
			return incoming
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails.
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// newEvent fills what every event of r shares, at level Metadata.
func newEvent(r *http.Request, id string, received time.Time) Event {
	return Event{
		Kind:                     EventKind,
		APIVersion:               EventAPIVersion,
		Level:                    LevelMetadata,
		AuditID:                  id,
		RequestURI:               requestURI(r),
		SourceIPs:                sourceIPs(r),
		UserAgent:                r.UserAgent(),
		RequestReceivedTimestamp: metav1.NewMicroTime(received),
	}
}

func requestURI(r *http.Request) string {
	if r.RequestURI != "" {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// sourceIPs lists X-Forwarded-For, then X-Real-Ip, then the connection's
// address, as kube-apiserver does; only the last is not client-supplied.
func sourceIPs(r *http.Request) []string {
	var ips []string
	for _, part := range strings.Split(r.Header.Get("X-Forwarded-For"), ",") {
		if ip := net.ParseIP(strings.TrimSpace(part)); ip != nil {
			ips = append(ips, ip.String())
		}
	}
	if ip := net.ParseIP(strings.TrimSpace(r.Header.Get("X-Real-Ip"))); ip != nil {
		ips = append(ips, ip.String())
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && (len(ips) == 0 || ips[len(ips)-1] != ip.String()) {
		ips = append(ips, ip.String())
	}
	return ips
}

func userInfo(u *user.Info) UserInfo {
	return UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
}

func objectRef(info *request.Info) *ObjectReference {
	if !info.IsResourceRequest {
		return nil
	}
	return &ObjectReference{
		Resource:    info.Resource,
		Namespace:   info.Namespace,
		Name:        info.Name,
		APIGroup:    info.APIGroup,
		APIVersion:  info.APIVersion,
		Subresource: info.Subresource,
	}
}

package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/apiserver/status"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// syncBuffer is a bytes.Buffer safe for the auditor's writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// events parses the JSON lines written so far, failing on any line that
// is not a complete audit.k8s.io/v1 Event.
func (s *syncBuffer) events(t *testing.T) []Event {
	t.Helper()
	var evs []Event
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if ev.Kind != "Event" || ev.APIVersion != "audit.k8s.io/v1" || ev.AuditID == "" || ev.RequestReceivedTimestamp.IsZero() || ev.StageTimestamp.IsZero() {
			t.Fatalf("incomplete event %s", sc.Text())
		}
		evs = append(evs, ev)
	}
	return evs
}

func stages(evs []Event) []Stage {
	var out []Stage
	for _, ev := range evs {
		out = append(out, ev.Stage)
	}
	return out
}

// withContext plays the filters that run before audit: request info and
// authentication.
func withContext(next http.Handler, u *user.Info) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := request.ParseInfo(r)
		if err != nil {
			panic(err)
		}
		ctx := request.WithInfo(r.Context(), info)
		if u != nil {
			ctx = request.WithUser(ctx, u)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// echo answers with the request body (as a stored object would be) and
// the given code.
func echo(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if len(body) == 0 {
			body = []byte(`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c"}}`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(body)
	})
}

var alice = &user.Info{Name: "alice", UID: "u-1", Groups: []string{"dev", "system:authenticated"}, Extra: map[string][]string{"scopes": {"a"}}}

func policyAll(level Level, omit ...Stage) string {
	p := "apiVersion: audit.k8s.io/v1\nkind: Policy\n"
	if len(omit) > 0 {
		b, _ := json.Marshal(omit)
		p += "omitStages: " + string(b) + "\n"
	}
	return p + "rules:\n- level: " + string(level) + "\n"
}

const secretJSON = `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"},"data":{"password":"aHVudGVyMg=="}}`

func TestWithAuditEvents(t *testing.T) {
	cm := `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c"},"data":{"k":"v"}}`
	tests := []struct {
		name       string
		level      Level
		omit       []Stage
		method     string
		url        string
		body       string
		handler    http.Handler
		wantStages []Stage
		wantLevel  Level
		wantReq    bool
		wantResp   bool
		wantCode   int32
	}{
		{"metadata", LevelMetadata, nil, "POST", "/api/v1/namespaces/x/configmaps", cm, echo(201),
			[]Stage{StageRequestReceived, StageResponseComplete}, LevelMetadata, false, false, 201},
		{"request", LevelRequest, nil, "POST", "/api/v1/namespaces/x/configmaps", cm, echo(201),
			[]Stage{StageRequestReceived, StageResponseComplete}, LevelRequest, true, false, 201},
		{"request-response", LevelRequestResponse, nil, "PUT", "/api/v1/namespaces/x/configmaps/c", cm, echo(200),
			[]Stage{StageRequestReceived, StageResponseComplete}, LevelRequestResponse, true, true, 200},
		{"get has no request body", LevelRequestResponse, nil, "GET", "/api/v1/namespaces/x/configmaps/c", "", echo(200),
			[]Stage{StageRequestReceived, StageResponseComplete}, LevelRequestResponse, false, true, 200},
		{"omit RequestReceived", LevelMetadata, []Stage{StageRequestReceived}, "GET", "/api/v1/namespaces/x/configmaps/c", "", echo(200),
			[]Stage{StageResponseComplete}, LevelMetadata, false, false, 200},
		{"omit ResponseComplete", LevelMetadata, []Stage{StageResponseComplete}, "GET", "/api/v1/namespaces/x/configmaps/c", "", echo(200),
			[]Stage{StageRequestReceived}, LevelMetadata, false, false, 200},
		{"none", LevelNone, nil, "GET", "/api/v1/namespaces/x/configmaps/c", "", echo(200),
			nil, "", false, false, 0},
		{"secret capped", LevelRequestResponse, nil, "POST", "/api/v1/namespaces/x/secrets", secretJSON, echo(201),
			[]Stage{StageRequestReceived, StageResponseComplete}, LevelMetadata, false, false, 201},
		{"secret get capped", LevelRequestResponse, nil, "GET", "/api/v1/namespaces/x/secrets/s", "", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, secretJSON)
		}), []Stage{StageRequestReceived, StageResponseComplete}, LevelMetadata, false, false, 200},
		{"token request capped", LevelRequestResponse, nil, "POST", "/api/v1/namespaces/x/serviceaccounts/default/token", `{"spec":{}}`,
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"status":{"token":"aHVudGVyMg=="}}`)
			}), []Stage{StageRequestReceived, StageResponseComplete}, LevelMetadata, false, false, 200},
		{"tokenreview capped", LevelRequest, nil, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", `{"spec":{"token":"aHVudGVyMg=="}}`, echo(201),
			[]Stage{StageRequestReceived, StageResponseComplete}, LevelMetadata, false, false, 201},
		{"non-resource", LevelRequestResponse, nil, "GET", "/version", "", echo(200),
			[]Stage{StageRequestReceived, StageResponseComplete}, LevelRequestResponse, false, true, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			a := newTestAuditor(t, policyAll(tt.level, tt.omit...), &out)
			h := withContext(WithAudit(tt.handler, a), alice)
			r := httptest.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			r.Header.Set("User-Agent", "kubectl/v1.37")
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			id := w.Header().Get("Audit-Id")
			if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
				t.Errorf("Audit-Id %q is not a UUID", id)
			}
			if strings.Contains(out.String(), "aHVudGVyMg==") {
				t.Fatalf("a secret value reached the audit log:\n%s", out.String())
			}
			evs := out.events(t)
			if got := stages(evs); !equalStages(got, tt.wantStages) {
				t.Fatalf("stages %v, want %v\n%s", got, tt.wantStages, out.String())
			}
			for _, ev := range evs {
				if ev.AuditID != id || ev.Level != tt.wantLevel || ev.User.Username != "alice" || ev.User.UID != "u-1" ||
					len(ev.User.Groups) != 2 || ev.User.Extra["scopes"][0] != "a" || ev.UserAgent != "kubectl/v1.37" ||
					ev.RequestURI != tt.url || len(ev.SourceIPs) != 1 || ev.SourceIPs[0] != "192.0.2.1" {
					t.Errorf("event %+v", ev)
				}
				if (ev.ObjectRef != nil) != strings.HasPrefix(tt.url, "/api") {
					t.Errorf("objectRef %+v for %s", ev.ObjectRef, tt.url)
				}
				if tt.wantLevel == LevelMetadata && tt.level != LevelMetadata && ev.Annotations[AnnotationLevelCapped] == "" {
					t.Errorf("capped event lacks the %s annotation", AnnotationLevelCapped)
				}
				if ev.Stage == StageRequestReceived && (ev.ResponseStatus != nil || ev.RequestObject != nil) {
					t.Errorf("RequestReceived with response or body: %+v", ev)
				}
				if ev.Stage != StageResponseComplete {
					continue
				}
				if ev.ResponseStatus == nil || ev.ResponseStatus.Code != tt.wantCode {
					t.Errorf("responseStatus %+v, want code %d", ev.ResponseStatus, tt.wantCode)
				}
				if (ev.RequestObject != nil) != tt.wantReq || (ev.ResponseObject != nil) != tt.wantResp {
					t.Errorf("requestObject %s responseObject %s, want %v %v", ev.RequestObject, ev.ResponseObject, tt.wantReq, tt.wantResp)
				}
				if tt.wantReq && !jsonEqual(ev.RequestObject, tt.body) {
					t.Errorf("requestObject %s, want %s", ev.RequestObject, tt.body)
				}
			}
		})
	}
}

func equalStages(a, b []Stage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func jsonEqual(raw []byte, want string) bool {
	var a, b any
	return json.Unmarshal(raw, &a) == nil && json.Unmarshal([]byte(want), &b) == nil && string(mustJSON(a)) == string(mustJSON(b))
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestWithAuditID(t *testing.T) {
	tests := []struct {
		incoming string
		reuse    bool
	}{
		{"7c1d7f0e-trace-42", true},
		{"", false},
		{"has space", false},
		{strings.Repeat("a", 129), false},
		{"bad\x7f", false},
	}
	for _, tt := range tests {
		var out syncBuffer
		a := newTestAuditor(t, policyAll(LevelMetadata), &out)
		r := httptest.NewRequest("GET", "/api/v1/namespaces", nil)
		if tt.incoming != "" {
			r.Header.Set("Audit-ID", tt.incoming)
		}
		w := httptest.NewRecorder()
		withContext(WithAudit(echo(200), a), alice).ServeHTTP(w, r)
		got := w.Header().Get("Audit-Id")
		if (got == tt.incoming) != tt.reuse || got == "" {
			t.Errorf("incoming %q: Audit-Id %q", tt.incoming, got)
		}
		for _, ev := range out.events(t) {
			if ev.AuditID != got {
				t.Errorf("event auditID %q, header %q", ev.AuditID, got)
			}
		}
	}
}

func TestWithAuditWatch(t *testing.T) {
	var out syncBuffer
	a := newTestAuditor(t, policyAll(LevelRequestResponse), &out)
	h := withContext(WithAudit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		for i := 0; i < 3; i++ {
			io.WriteString(w, `{"type":"ADDED","object":{}}`+"\n")
			w.(http.Flusher).Flush()
		}
	}), a), alice)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/namespaces/x/pods?watch=true", nil))
	if !w.Flushed {
		t.Error("Flush did not reach the underlying writer")
	}
	evs := out.events(t)
	if got := stages(evs); !equalStages(got, []Stage{StageRequestReceived, StageResponseStarted, StageResponseComplete}) {
		t.Fatalf("stages %v", got)
	}
	if evs[1].ResponseStatus == nil || evs[1].ResponseStatus.Code != 200 || evs[2].ResponseObject != nil || evs[1].Verb != "watch" {
		t.Errorf("watch events %+v", evs)
	}
}

func TestWithAuditErrorStatus(t *testing.T) {
	var out syncBuffer
	a := newTestAuditor(t, policyAll(LevelMetadata), &out)
	h := withContext(WithAudit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status.Write(w, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, "s"))
	}), a), alice)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/namespaces/x/secrets/s", nil))
	ev := out.events(t)[1]
	st := ev.ResponseStatus
	if st.Code != 404 || st.Status != "Failure" || st.Reason != "NotFound" || !strings.Contains(st.Message, `"s" not found`) {
		t.Errorf("responseStatus %+v", st)
	}
}

func TestWithAuditPanic(t *testing.T) {
	var out syncBuffer
	a := newTestAuditor(t, policyAll(LevelMetadata), &out)
	h := withContext(WithAudit(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), a), alice)
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the handler's panic re-raised", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/namespaces", nil))
	}()
	evs := out.events(t)
	if got := stages(evs); !equalStages(got, []Stage{StageRequestReceived, StagePanic}) {
		t.Fatalf("stages %v", got)
	}
	if st := evs[1].ResponseStatus; st.Code != 500 || !strings.Contains(st.Message, "boom") {
		t.Errorf("panic status %+v", st)
	}
}

func TestWithAuditMissingContextFailsClosed(t *testing.T) {
	var out syncBuffer
	a := newTestAuditor(t, policyAll(LevelNone), &out)
	called := false
	h := withContext(WithAudit(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }), a), nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/namespaces", nil))
	if called || w.Code != 500 {
		t.Errorf("handler called %v, code %d; want not called, 500", called, w.Code)
	}
	evs := out.events(t)
	if len(evs) != 1 || evs[0].Level != LevelMetadata || evs[0].Annotations[AnnotationError] == "" || evs[0].ResponseStatus.Code != 500 {
		t.Errorf("events %+v", evs)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWithAuditWriteFailureRefuses(t *testing.T) {
	a := newTestAuditor(t, policyAll(LevelMetadata), failWriter{})
	called := false
	h := withContext(WithAudit(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }), a), alice)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("DELETE", "/api/v1/namespaces/x", nil))
	if called || w.Code != http.StatusServiceUnavailable {
		t.Errorf("handler called %v, code %d; want not called, 503", called, w.Code)
	}
}

func TestWithAuditContextHelpers(t *testing.T) {
	var out syncBuffer
	a := newTestAuditor(t, policyAll(LevelMetadata, StageRequestReceived), &out)
	h := withContext(WithAudit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !AddAnnotation(r.Context(), "authorization.k8s.io/decision", "allow") ||
			!SetImpersonatedUser(r.Context(), &user.Info{Name: "bob", Groups: []string{"ops"}}) {
			t.Error("helpers found no audit context")
		}
		AddAnnotation(r.Context(), "authorization.k8s.io/decision", "forbid") // first value wins
	}), a), alice)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/namespaces", nil))
	ev := out.events(t)[0]
	if ev.Annotations["authorization.k8s.io/decision"] != "allow" || ev.ImpersonatedUser == nil || ev.ImpersonatedUser.Username != "bob" {
		t.Errorf("event %+v", ev)
	}
	if AddAnnotation(httptest.NewRequest("GET", "/", nil).Context(), "k", "v") {
		t.Error("AddAnnotation outside an audited request reported success")
	}
}

func TestWithAuditBodies(t *testing.T) {
	withMF := `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c","managedFields":[{"manager":"kubectl"}]}}`
	list := `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[` + withMF + `]}`
	tests := []struct {
		name, policy, ct, body string
		wantReq                string // "" = absent
		wantAnnotation         string
	}{
		{"managedFields kept", policyAll(LevelRequest), "application/json", withMF, withMF, ""},
		{"managedFields omitted", policyAll(LevelRequest) + "omitManagedFields: true\n", "application/json", withMF,
			`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c"}}`, ""},
		{"list managedFields omitted", policyAll(LevelRequest) + "omitManagedFields: true\n", "application/json", list,
			`{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c"}}]}`, ""},
		{"yaml converted", policyAll(LevelRequest), "application/yaml", "kind: ConfigMap\nmetadata:\n  name: c\n", `{"kind":"ConfigMap","metadata":{"name":"c"}}`, ""},
		{"apply patch yaml", policyAll(LevelRequest), "application/apply-patch+yaml", "kind: ConfigMap\n", `{"kind":"ConfigMap"}`, ""},
		{"json patch", policyAll(LevelRequest), "application/json-patch+json", `[{"op":"add","path":"/data/x","value":"1"}]`, `[{"op":"add","path":"/data/x","value":"1"}]`, ""},
		{"protobuf omitted", policyAll(LevelRequest), "application/vnd.kubernetes.protobuf", "k8s\x00\x0a\x02", "", "protobuf body"},
		{"not json", policyAll(LevelRequest), "application/json", "{nope", "", "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			a := newTestAuditor(t, tt.policy, &out)
			h := withContext(WithAudit(echo(200), a), alice)
			r := httptest.NewRequest("PATCH", "/api/v1/namespaces/x/configmaps/c", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ct)
			h.ServeHTTP(httptest.NewRecorder(), r)
			ev := out.events(t)[1]
			if tt.wantReq == "" {
				if ev.RequestObject != nil {
					t.Errorf("requestObject %s, want none", ev.RequestObject)
				}
			} else if !jsonEqual(ev.RequestObject, tt.wantReq) {
				t.Errorf("requestObject %s, want %s", ev.RequestObject, tt.wantReq)
			}
			if tt.wantAnnotation != "" && ev.Annotations[AnnotationBodyOmitted+"-request"] != tt.wantAnnotation {
				t.Errorf("annotations %v, want %q", ev.Annotations, tt.wantAnnotation)
			}
		})
	}
}

func TestWithAuditBodyTooLarge(t *testing.T) {
	var out syncBuffer
	p, _ := ParsePolicy([]byte(policyAll(LevelRequestResponse)))
	a, err := NewAuditor(Config{Policy: p, Out: &out, Now: fixedClock(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 32})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"kind":"ConfigMap","data":{"k":"` + strings.Repeat("v", 64) + `"}}`
	w := httptest.NewRecorder()
	withContext(WithAudit(echo(200), a), alice).ServeHTTP(w, httptest.NewRequest("PUT", "/api/v1/namespaces/x/configmaps/c", strings.NewReader(body)))
	if w.Body.String() != body {
		t.Errorf("the handler saw a truncated body: %q", w.Body.String())
	}
	ev := out.events(t)[1]
	if ev.RequestObject != nil || ev.ResponseObject != nil || !strings.Contains(ev.Annotations[AnnotationBodyOmitted+"-request"], "larger than 32") {
		t.Errorf("event %+v", ev)
	}
}

func TestWithAuditSourceIPs(t *testing.T) {
	var out syncBuffer
	a := newTestAuditor(t, policyAll(LevelMetadata), &out)
	r := httptest.NewRequest("GET", "/api/v1/namespaces", nil)
	r.Header.Set("X-Forwarded-For", "10.0.0.1, not-an-ip, 10.0.0.2")
	r.Header.Set("X-Real-Ip", "10.0.0.3")
	withContext(WithAudit(echo(200), a), alice).ServeHTTP(httptest.NewRecorder(), r)
	got := strings.Join(out.events(t)[0].SourceIPs, ",")
	if got != "10.0.0.1,10.0.0.2,10.0.0.3,192.0.2.1" {
		t.Errorf("sourceIPs %s", got)
	}
}

func TestWithAuditNilAuditorPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("WithAudit(nil) did not panic")
		}
	}()
	WithAudit(echo(200), nil)
}

package webhook

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/storage/etcdtest"
)

var testClient *clientv3.Client

func TestMain(m *testing.M) { os.Exit(etcdtest.Run(m, &testClient)) }

func resource(t testing.TB, group, plural string) *apis.Resource {
	t.Helper()
	cat, err := apis.NewCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := cat.Lookup(group, "v1", plural)
	if !ok {
		t.Fatalf("no %s/%s", group, plural)
	}
	return r
}

// configMapCreate is the attributes of creating a ConfigMap in ns.
func configMapCreate(t testing.TB, ns, name string, labels map[string]string) *registry.Attributes {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, UID: "u-1"}, Data: map[string]string{"k": "v"}}
	return &registry.Attributes{Operation: registry.Create, Resource: resource(t, "", "configmaps"), Namespace: ns, Name: name, Object: cm}
}

// tlsHook starts a real HTTPS server and returns a compiled hook calling
// it at path with its certificate as caBundle.
func tlsHook(t *testing.T, handler http.HandlerFunc, mutating bool, version string) *hook {
	t.Helper()
	srv := httptest.NewTLSServer(handler)
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	u := srv.URL + "/hook"
	none := admissionregistrationv1.SideEffectClassNone
	h := compileHook("cfg", mutating, webhookSpec{name: "test.kastle.dev", clientConfig: admissionregistrationv1.WebhookClientConfig{URL: &u, CABundle: ca},
		sideEffects: &none, admissionReviewVersions: []string{version}})
	if h.err != nil {
		t.Fatal(h.err)
	}
	return h
}

// answer decodes the review, lets f fill the response and writes it back.
func answer(t *testing.T, f func(in *admissionv1.AdmissionReview, out *admissionv1.AdmissionResponse)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in admissionv1.AdmissionReview
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &in); err != nil {
			t.Errorf("webhook got invalid review: %v", err)
		}
		out := &admissionv1.AdmissionResponse{UID: in.Request.UID, Allowed: true}
		f(&in, out)
		_ = json.NewEncoder(w).Encode(admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: out})
	}
}

func TestCallEncodesReview(t *testing.T) {
	for _, version := range []string{"v1", "v1beta1"} {
		t.Run(version, func(t *testing.T) {
			var got admissionv1.AdmissionReview
			h := tlsHook(t, answer(t, func(in *admissionv1.AdmissionReview, out *admissionv1.AdmissionResponse) { got = *in }), false, version)
			d := &Dispatcher{}
			ctx := request.WithUser(context.Background(), &user.Info{Name: "alice", UID: "a-1", Groups: []string{"devs"}, Extra: map[string][]string{"x": {"y"}}})
			a := configMapCreate(t, "ns1", "cm1", nil)
			a.DryRun = true
			if _, err := d.call(ctx, a, h, "v1"); err != nil {
				t.Fatal(err)
			}
			r := got.Request
			if got.APIVersion != "admission.k8s.io/"+version || got.Kind != "AdmissionReview" || r == nil {
				t.Fatalf("review %s %s", got.APIVersion, got.Kind)
			}
			if r.UID == "" || r.Kind.Kind != "ConfigMap" || r.Resource.Resource != "configmaps" || r.RequestKind == nil || r.RequestResource == nil ||
				r.Name != "cm1" || r.Namespace != "ns1" || r.Operation != admissionv1.Create || r.DryRun == nil || !*r.DryRun {
				t.Errorf("request fields: %+v", r)
			}
			if r.UserInfo.Username != "alice" || r.UserInfo.UID != "a-1" || len(r.UserInfo.Groups) != 1 || r.UserInfo.Extra["x"][0] != "y" {
				t.Errorf("userInfo: %+v", r.UserInfo)
			}
			if !strings.Contains(string(r.Object.Raw), `"name":"cm1"`) || !strings.Contains(string(r.Object.Raw), `"kind":"ConfigMap"`) || len(r.OldObject.Raw) != 0 {
				t.Errorf("object %s old %s", r.Object.Raw, r.OldObject.Raw)
			}
			if !strings.Contains(string(r.Options.Raw), `"kind":"CreateOptions"`) || !strings.Contains(string(r.Options.Raw), `"dryRun":["All"]`) {
				t.Errorf("options %s", r.Options.Raw)
			}
		})
	}
}

func TestCallFailures(t *testing.T) {
	var stop chan struct{} // per subtest: closed before its server closes
	tests := []struct {
		name    string
		handler http.HandlerFunc
		code    int32
		want    string
	}{
		{"garbage", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<html>") }, 502, "received invalid webhook response"},
		{"no response", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`)
		}, 502, "webhook response was absent"},
		{"wrong uid", answer(t, func(_ *admissionv1.AdmissionReview, out *admissionv1.AdmissionResponse) { out.UID = "other" }), 502, "expected response.uid"},
		{"http 500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, 500, "status code 500"},
		{"hangs", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		}, 500, "context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stop = make(chan struct{})
			h := tlsHook(t, tt.handler, false, "v1")
			done := stop
			t.Cleanup(func() { close(done) })
			h.timeout = 200 * time.Millisecond
			_, err := (&Dispatcher{}).call(context.Background(), configMapCreate(t, "ns", "cm", nil), h, "v1")
			var ec *errCall
			if !errors.As(err, &ec) || ec.status.ErrStatus.Code != tt.code || !strings.Contains(ec.Error(), tt.want) ||
				!strings.Contains(ec.Error(), `failed calling webhook "test.kastle.dev"`) {
				t.Fatalf("got %v", err)
			}
			// failurePolicy Ignore admits; Fail returns the status.
			h.failurePolicy = admissionregistrationv1.Ignore
			if err := (&Dispatcher{}).failure(h, err); err != nil {
				t.Errorf("Ignore: %v", err)
			}
			h.failurePolicy = admissionregistrationv1.Fail
			if err := (&Dispatcher{}).failure(h, err); err == nil {
				t.Error("Fail admitted")
			}
		})
	}
	// An unknown certificate authority is a transport failure too.
	h := tlsHook(t, answer(t, func(*admissionv1.AdmissionReview, *admissionv1.AdmissionResponse) {}), false, "v1")
	h.client.http.Transport.(*http.Transport).TLSClientConfig.RootCAs = nil
	if _, err := (&Dispatcher{}).call(context.Background(), configMapCreate(t, "ns", "cm", nil), h, "v1"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted webhook: %v", err)
	}
}

func TestDenied(t *testing.T) {
	h := &hook{name: "deny.kastle.dev"}
	tests := []struct {
		result *metav1.Status
		code   int32
		msg    string
	}{
		{nil, 403, `admission webhook "deny.kastle.dev" denied the request`},
		{&metav1.Status{Message: "no"}, 403, `admission webhook "deny.kastle.dev" denied the request: no`},
		{&metav1.Status{Code: 422, Reason: "Invalid"}, 422, `admission webhook "deny.kastle.dev" denied the request: Invalid`},
		{&metav1.Status{Code: 200, Message: "odd"}, 403, `denied the request: odd`},
	}
	for _, tt := range tests {
		err := denied(h, tt.result)
		var se *apierrors.StatusError
		if !errors.As(err, &se) || se.ErrStatus.Code != tt.code || !strings.HasSuffix(se.ErrStatus.Message, tt.msg) {
			t.Errorf("denied(%+v) = %v", tt.result, err)
		}
	}
}

func TestApplyPatch(t *testing.T) {
	h := &hook{name: "p.kastle.dev", mutating: true}
	tests := []struct {
		name, patch string
		ok          bool
		check       func(*corev1.ConfigMap) bool
	}{
		{"add label", `[{"op":"add","path":"/metadata/labels","value":{"a":"b"}}]`, true,
			func(c *corev1.ConfigMap) bool { return c.Labels["a"] == "b" && c.UID == "u-1" }},
		{"uid is the server's", `[{"op":"replace","path":"/metadata/uid","value":"evil"}]`, true,
			func(c *corev1.ConfigMap) bool { return c.UID == "u-1" }},
		{"wrong type", `[{"op":"replace","path":"/data","value":"text"}]`, false, nil},
		{"missing path", `[{"op":"replace","path":"/nope/x","value":1}]`, false, nil},
		{"not a patch", `{"op":"add"}`, false, nil},
		{"kind change", `[{"op":"replace","path":"/kind","value":"Secret"}]`, false, nil},
		{"rename", `[{"op":"replace","path":"/metadata/name","value":"other"}]`, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := configMapCreate(t, "ns", "cm", nil)
			before := a.Object.DeepCopyObject()
			err := applyPatch(a, h, []byte(tt.patch), "v1")
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			cm := a.Object.(*corev1.ConfigMap)
			if !tt.ok {
				var ec *errCall
				if !errors.As(err, &ec) || ec.status.ErrStatus.Code == 500 {
					t.Errorf("a bad patch must be a non-500 call failure: %v", err)
				}
				if cm.Labels != nil || cm.Data["k"] != "v" || cm.Name != before.(*corev1.ConfigMap).Name {
					t.Errorf("object changed by a failed patch: %+v", cm)
				}
				return
			}
			if !tt.check(cm) {
				t.Errorf("patched: %+v", cm)
			}
		})
	}
}

// staticCache is a synced cache holding v.
func staticCache[T any](v T) *Cache[T] {
	c := NewCache(context.Background(), nil, nil, func([]runtime.Object) T { return v })
	return c
}

func TestMutatingReinvocation(t *testing.T) {
	calls := map[string]int{}
	labeler := func(key string) http.HandlerFunc {
		return answer(t, func(in *admissionv1.AdmissionReview, out *admissionv1.AdmissionResponse) {
			calls[key]++
			var cm corev1.ConfigMap
			_ = json.Unmarshal(in.Request.Object.Raw, &cm)
			if cm.Labels[key] == "" {
				pt := admissionv1.PatchTypeJSONPatch
				out.PatchType = &pt
				if cm.Labels == nil {
					out.Patch = []byte(`[{"op":"add","path":"/metadata/labels","value":{"` + key + `":"x"}}]`)
				} else {
					out.Patch = []byte(`[{"op":"add","path":"/metadata/labels/` + key + `","value":"x"}]`)
				}
			}
			out.Warnings = []string{"from " + key}
		})
	}
	first := tlsHook(t, labeler("first"), true, "v1")
	first.reinvoke = true
	first.rules = []admissionregistrationv1.RuleWithOperations{rule(allOps, []string{""}, []string{"v1"}, []string{"configmaps"}, "*")}
	second := tlsHook(t, labeler("second"), true, "v1")
	second.rules = first.rules
	p := &Mutating{D: &Dispatcher{}, Hooks: staticCache(hookSet{first, second})}
	rec := httptest.NewRecorder()
	ctx := request.WithWarnings(context.Background(), rec.Header())
	a := configMapCreate(t, "ns", "cm", nil)
	if err := p.Admit(ctx, a); err != nil {
		t.Fatal(err)
	}
	cm := a.Object.(*corev1.ConfigMap)
	if cm.Labels["first"] != "x" || cm.Labels["second"] != "x" {
		t.Errorf("labels %v", cm.Labels)
	}
	// second changed the object after first: first runs again (IfNeeded).
	if calls["first"] != 2 || calls["second"] != 1 {
		t.Errorf("calls %v", calls)
	}
	if w := rec.Header().Values("Warning"); len(w) != 3 || !strings.Contains(w[0], `"from first"`) {
		t.Errorf("warnings %q", w)
	}
	// Dry run with side effects Unknown is refused before any call.
	second.sideEffects = admissionregistrationv1.SideEffectClassUnknown
	a = configMapCreate(t, "ns", "cm", nil)
	a.DryRun = true
	if err := p.Admit(ctx, a); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "does not support dry run") {
		t.Errorf("dry run: %v", err)
	}
}

func TestEquivalentVersionForCustomResources(t *testing.T) {
	widgets := &apis.Resource{Group: "example.com", Version: "v2", Kind: "Widget", Plural: "widgets", Namespaced: true, Custom: true}
	widgets.New = func() runtime.Object {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("example.com/v2")
		u.SetKind("Widget")
		return u
	}
	var got admissionv1.AdmissionRequest
	h := tlsHook(t, answer(t, func(in *admissionv1.AdmissionReview, out *admissionv1.AdmissionResponse) {
		got = *in.Request
		pt := admissionv1.PatchTypeJSONPatch
		out.PatchType, out.Patch = &pt, []byte(`[{"op":"add","path":"/metadata/labels","value":{"seen":"v1"}}]`)
	}), true, "v1")
	h.rules = []admissionregistrationv1.RuleWithOperations{rule(allOps, []string{"example.com"}, []string{"v1"}, []string{"widgets"}, "*")}
	served := func(g, v, r string) (string, bool) { return "Widget", v == "v1" || v == "v2" }
	p := &Mutating{D: &Dispatcher{Served: served}, Hooks: staticCache(hookSet{h})}
	obj := widgets.New().(*unstructured.Unstructured)
	obj.SetName("w")
	obj.SetNamespace("ns")
	a := &registry.Attributes{Operation: registry.Create, Resource: widgets, Namespace: "ns", Name: "w", Object: obj}
	if err := p.Admit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if got.Kind.Version != "v1" || got.Resource.Version != "v1" || got.RequestKind.Version != "v2" || got.RequestResource.Version != "v2" ||
		!strings.Contains(string(got.Object.Raw), `"apiVersion":"example.com/v1"`) {
		t.Errorf("review: kind %v resource %v requestKind %v object %s", got.Kind, got.Resource, got.RequestKind, got.Object.Raw)
	}
	if obj.GetAPIVersion() != "example.com/v2" || obj.GetLabels()["seen"] != "v1" {
		t.Errorf("patched object: %v", obj.Object)
	}
}

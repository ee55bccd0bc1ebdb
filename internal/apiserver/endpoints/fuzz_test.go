package endpoints

import (
	"bytes"
	"net/http/httptest"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
)

// newTestReq builds a request for resource plural in group/version with
// the given body and content type, without storage.
func newTestReq(t testing.TB, group, version, plural, contentType string, body []byte) *req {
	scheme, err := apis.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := apis.NewCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	res, ok := cat.Lookup(group, version, plural)
	if !ok {
		t.Fatalf("no resource %s", plural)
	}
	r := httptest.NewRequest("POST", "/api/v1/namespaces/default/"+plural, bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	h := &Handler{Catalogue: cat, Ser: apis.NewSerializers(scheme)}
	return &req{h: h, r: r, w: httptest.NewRecorder(), res: res, info: &request.Info{Name: "x"}, ns: "default"}
}

// clientError reports whether err is an API error a client caused
// (4xx); anything else from these paths is a server bug.
func clientError(err error) bool {
	code := apierrors.ReasonForError(err)
	st, ok := err.(apierrors.APIStatus)
	return ok && code != "" && st.Status().Code >= 400 && st.Status().Code < 500
}

func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"v"}}`), "application/json")
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"), "application/yaml")
	f.Add([]byte(`{"apiVersion":"apps/v1","kind":"ConfigMap"}`), "application/json")
	f.Add([]byte(`{"metadata":{"labels":[1,2]}}`), "application/json")
	f.Add([]byte(`{"data":{"a":"b","a":"c"}}`), "application/json")
	f.Add([]byte("k8s\x00\x0a\x0f"), "application/vnd.kubernetes.protobuf")
	f.Add([]byte(`{`), "application/json")
	f.Add([]byte(`{}`), "text/plain")
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		for _, validation := range []string{"", "Strict", "Ignore"} {
			q := newTestReq(t, "", "v1", "configmaps", ct, body)
			_, err := q.decodeBody(q.res.GVK(), validation)
			if err != nil && !clientError(err) {
				t.Fatalf("decode %q (%s): non-client error %v", body, ct, err)
			}
		}
	})
}

func FuzzPatch(f *testing.F) {
	doc := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","labels":{"x":"y"}},"data":{"k":"v"}}`)
	f.Add([]byte(`[{"op":"add","path":"/data/z","value":"w"}]`), 0)
	f.Add([]byte(`[{"op":"test","path":"/data/k","value":"no"}]`), 0)
	f.Add([]byte(`{"data":{"k":null}}`), 1)
	f.Add([]byte(`{"metadata":{"$patch":"delete"}}`), 2)
	f.Add([]byte(`{"data":{"$retainKeys":["k"]}}`), 2)
	f.Add([]byte(`[{"op":"move","from":"/data","path":"/data/x"}]`), 0)
	f.Add([]byte(`not json`), 1)
	types := []types.PatchType{types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType}
	f.Fuzz(func(t *testing.T, patch []byte, which int) {
		if which < 0 {
			which = -which
		}
		pt := types[which%len(types)]
		q := newTestReq(t, "", "v1", "configmaps", string(pt), nil)
		out, err := q.applyPatch(pt, doc, patch)
		if err != nil {
			if !clientError(err) {
				t.Fatalf("patch %q (%s): non-client error %v", patch, pt, err)
			}
			return
		}
		if _, err := q.decodePatched(out, "Strict"); err != nil && !clientError(err) {
			t.Fatalf("decoding patched %q: non-client error %v", out, err)
		}
	})
}

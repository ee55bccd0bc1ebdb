package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBadInput sends malformed requests with curl and checks each is
// refused with the right code and a Status object, never a 500.
func TestBadInput(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	s := env.shared
	creds := extractAdmin(t, s)
	mustKubectl(t, "create", "cm", "one", "-n", ns)
	cms := "/api/v1/namespaces/" + ns + "/configmaps"
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"` + strings.Repeat("x", 3<<20+1024) + `"}}`
	bigFile := writeFile(t, "big.json", big, 0o600)
	json := []string{"-H", "Content-Type: application/json"}

	for _, tc := range []struct {
		name   string
		path   string
		args   []string
		status int
		reason string
	}{
		{"malformed json", cms, append([]string{"-X", "POST", "--data-binary", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":`}, json...), 400, "BadRequest"},
		{"not an object", cms, append([]string{"-X", "POST", "--data-binary", `[1,2,3]`}, json...), 400, "BadRequest"},
		{"body over 3 MiB", cms, append([]string{"-X", "POST", "--data-binary", "@" + bigFile}, json...), 413, "RequestEntityTooLarge"},
		{"unknown resource", "/api/v1/namespaces/" + ns + "/widgetz", nil, 404, "NotFound"},
		{"unknown group", "/apis/nothing.example.com/v1/things", nil, 404, "NotFound"},
		{"text/plain body", cms, []string{"-X", "POST", "-H", "Content-Type: text/plain", "--data-binary", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"t"}}`}, 415, "UnsupportedMediaType"},
		{"bad label selector", cms + "?labelSelector=a%20in%20(", nil, 400, "BadRequest"},
		{"bad field selector", cms + "?fieldSelector=data.a%3D1", nil, 400, "BadRequest"},
		{"apiVersion mismatch", cms, append([]string{"-X", "POST", "--data-binary", `{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"m"}}`}, json...), 400, "BadRequest"},
		{"kind mismatch", cms, append([]string{"-X", "POST", "--data-binary", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"m"}}`}, json...), 400, "BadRequest"},
		{"name mismatch on update", cms + "/one", append([]string{"-X", "PUT", "--data-binary", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"two"}}`}, json...), 400, "BadRequest"},
		{"invalid name", cms, append([]string{"-X", "POST", "--data-binary", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}`}, json...), 422, "Invalid"},
		{"bad patch type", cms + "/one", []string{"-X", "PATCH", "-H", "Content-Type: application/xml", "--data-binary", `<a/>`}, 415, "UnsupportedMediaType"},
		{"unsupported verb", cms, []string{"-X", "PUT", "-H", "Content-Type: application/json", "--data-binary", `{}`}, 405, "MethodNotAllowed"},
		{"bad resourceVersion", cms + "?watch=true&resourceVersion=abc", nil, 400, "BadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := curl(t, s, &creds, tc.path, tc.args...)
			var st struct {
				Kind, APIVersion, Status, Message, Reason string
				Code                                      int
			}
			if err := jsonUnmarshal(r.body, &st); err != nil {
				t.Fatalf("status %d, body is not JSON (%v): %.300s", r.status, err, r.body)
			}
			if r.status != tc.status || st.Kind != "Status" || st.APIVersion != "v1" || st.Status != "Failure" ||
				st.Code != tc.status || st.Reason != tc.reason || st.Message == "" {
				t.Errorf("got %d %.500s; want %d with a Status of reason %s", r.status, r.body, tc.status, tc.reason)
			}
		})
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

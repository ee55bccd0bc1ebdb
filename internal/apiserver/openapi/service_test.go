package openapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/kube-openapi/pkg/spec3"
	protomodels "k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

var (
	coreV1   = schema.GroupVersion{Version: "v1"}
	appsV1   = schema.GroupVersion{Group: "apps", Version: "v1"}
	certsV1  = schema.GroupVersion{Group: "certificates.k8s.io", Version: "v1"}
	crdsV1   = schema.GroupVersion{Group: "apiextensions.k8s.io", Version: "v1"}
	surveyV1 = schema.GroupVersion{Group: "survey.example.com", Version: "v1"}
)

func newTestService(t testing.TB) *Service {
	t.Helper()
	s := NewService()
	s.SetResources(append(builtinResources(), widgetResource("v1", "")))
	return s
}

// get performs a request against s and returns the recorded response.
func get(s http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// v3Doc fetches and decodes the OpenAPI v3 document of gv.
func v3Doc(t *testing.T, s *Service, gv schema.GroupVersion) *spec3.OpenAPI {
	t.Helper()
	rec := get(s, "GET", "/openapi/v3/"+gvDocPath(gv), nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", gv, rec.Code, rec.Body)
	}
	var doc spec3.OpenAPI
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("decoding %s document: %v", gv, err)
	}
	return &doc
}

func gvkList(s *spec.Schema) []schema.GroupVersionKind {
	var out []schema.GroupVersionKind
	list, _ := s.Extensions[extGVK].([]interface{})
	for _, x := range list {
		m, _ := x.(map[string]interface{})
		g, _ := m["group"].(string)
		v, _ := m["version"].(string)
		k, _ := m["kind"].(string)
		out = append(out, schema.GroupVersionKind{Group: g, Version: v, Kind: k})
	}
	return out
}

func TestDefinitions(t *testing.T) {
	s := newTestService(t)
	tests := []struct {
		gv         schema.GroupVersion
		def        string
		gvk        schema.GroupVersionKind // zero: no GVK extension expected
		wantProps  []string
		wantReq    []string
		descSubstr string
	}{
		{coreV1, "io.k8s.api.core.v1.ConfigMap", coreV1.WithKind("ConfigMap"), []string{"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"}, nil, "configuration data"},
		{coreV1, "io.k8s.api.core.v1.ConfigMapList", coreV1.WithKind("ConfigMapList"), []string{"items", "metadata"}, []string{"items"}, "ConfigMap"},
		{coreV1, "io.k8s.api.core.v1.Container", schema.GroupVersionKind{}, []string{"name", "image", "ports", "env"}, []string{"name"}, "container"},
		{coreV1, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", schema.GroupVersionKind{}, []string{"name", "namespace", "labels", "managedFields"}, nil, "metadata"},
		{coreV1, "io.k8s.apimachinery.pkg.apis.meta.v1.Status", coreV1.WithKind("Status"), []string{"code", "reason", "details"}, nil, "Status"},
		{coreV1, "io.k8s.api.authentication.v1.TokenRequest", schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}, []string{"spec", "status"}, []string{"spec"}, "token"},
		{appsV1, "io.k8s.api.apps.v1.Deployment", appsV1.WithKind("Deployment"), []string{"spec", "status", "metadata"}, nil, "Deployment"},
		{appsV1, "io.k8s.api.autoscaling.v1.Scale", schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, []string{"spec", "status"}, nil, "scale"},
		{appsV1, "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", appsV1.WithKind("DeleteOptions"), []string{"propagationPolicy", "dryRun"}, nil, "DeleteOptions"},
		{certsV1, "io.k8s.api.certificates.v1.CertificateSigningRequest", certsV1.WithKind("CertificateSigningRequest"), []string{"spec", "status"}, []string{"spec"}, "certificate"},
		{certsV1, "io.k8s.api.certificates.v1.CertificateSigningRequestSpec", schema.GroupVersionKind{}, []string{"request", "signerName", "usages"}, []string{"request", "signerName"}, "certificate"},
		{crdsV1, "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition", crdsV1.WithKind("CustomResourceDefinition"), []string{"spec"}, []string{"spec"}, "CustomResourceDefinition"},
		{crdsV1, "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", schema.GroupVersionKind{}, []string{"default", "x-kubernetes-preserve-unknown-fields"}, nil, "JSON-Schema"},
		{surveyV1, "com.example.survey.v1.Widget", surveyV1.WithKind("Widget"), []string{"apiVersion", "kind", "metadata", "spec", "status"}, nil, "test custom resource"},
		{surveyV1, "com.example.survey.v1.WidgetList", surveyV1.WithKind("WidgetList"), []string{"items", "metadata"}, []string{"items"}, "Widget"},
	}
	docs := map[schema.GroupVersion]*spec3.OpenAPI{}
	for _, tc := range tests {
		t.Run(tc.def, func(t *testing.T) {
			doc, ok := docs[tc.gv]
			if !ok {
				doc = v3Doc(t, s, tc.gv)
				docs[tc.gv] = doc
			}
			d, ok := doc.Components.Schemas[tc.def]
			if !ok {
				t.Fatalf("definition %s missing from %s", tc.def, tc.gv)
			}
			if !strings.Contains(strings.ToLower(d.Description), strings.ToLower(tc.descSubstr)) {
				t.Errorf("description %q lacks %q", d.Description, tc.descSubstr)
			}
			for _, p := range tc.wantProps {
				prop, ok := d.Properties[p]
				if !ok {
					t.Errorf("property %q missing", p)
				} else if prop.Description == "" && p != "note" && tc.gv != surveyV1 {
					t.Errorf("property %q has no description", p)
				}
			}
			for _, r := range tc.wantReq {
				if !contains(d.Required, r) {
					t.Errorf("required %v lacks %q", d.Required, r)
				}
			}
			for _, never := range []string{"metadata", "apiVersion", "kind", "status"} {
				if contains(d.Required, never) {
					t.Errorf("%q must never be required", never)
				}
			}
			got := gvkList(d)
			if tc.gvk.Kind == "" {
				if len(got) != 0 {
					t.Errorf("unexpected GVK extension %v", got)
				}
			} else if !containsGVK(got, tc.gvk) {
				t.Errorf("GVK extension %v lacks %v", got, tc.gvk)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSpecialTypes(t *testing.T) {
	s := newTestService(t)
	schemas := s.Schemas(coreV1)
	tests := []struct {
		def, typ, format string
		intOrString      bool
		preserve         bool
	}{
		{"io.k8s.apimachinery.pkg.apis.meta.v1.Time", "string", "date-time", false, false},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime", "string", "date-time", false, false},
		{"io.k8s.apimachinery.pkg.api.resource.Quantity", "", "", true, false},
		{"io.k8s.apimachinery.pkg.util.intstr.IntOrString", "", "int-or-string", true, false},
		{"io.k8s.apimachinery.pkg.runtime.RawExtension", "object", "", false, true},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1", "object", "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.def, func(t *testing.T) {
			d, ok := schemas[tc.def]
			if !ok {
				t.Fatalf("missing %s", tc.def)
			}
			if typ := strings.Join(d.Type, ","); typ != tc.typ || d.Format != tc.format {
				t.Errorf("type %q format %q, want %q %q", typ, d.Format, tc.typ, tc.format)
			}
			if b, _ := d.Extensions[extIntOrString].(bool); b != tc.intOrString {
				t.Errorf("int-or-string = %v, want %v", b, tc.intOrString)
			}
			if b, _ := d.Extensions[extPreserveFields].(bool); b != tc.preserve {
				t.Errorf("preserve-unknown-fields = %v, want %v", b, tc.preserve)
			}
		})
	}
	// Field-level encodings.
	secret := schemas["io.k8s.api.core.v1.Secret"]
	if ap := secret.Properties["data"].AdditionalProperties; ap == nil || ap.Schema.Format != "byte" {
		t.Errorf("Secret.data should be a map of base64 strings, got %+v", secret.Properties["data"])
	}
	cm := schemas["io.k8s.api.core.v1.ConfigMap"]
	if ap := cm.Properties["data"].AdditionalProperties; ap == nil || ap.Schema.Type[0] != "string" {
		t.Errorf("ConfigMap.data should be map[string]string, got %+v", cm.Properties["data"])
	}
	meta := schemas[defObjectMeta]
	if fin := meta.Properties["finalizers"]; fin.Extensions[extListType] != "set" || fin.Extensions[extPatchStrategy] != "merge" {
		t.Errorf("finalizers should be a merge-patched set: %v", fin.Extensions)
	}
}

// TestPatchStrategy walks the Deployment schema the way kubectl's strategic
// merge patch does and checks the patch metadata of the containers list.
func TestPatchStrategy(t *testing.T) {
	s := newTestService(t)
	tests := []struct {
		gv       schema.GroupVersion
		def      string
		path     []string // structs, then the list field last
		strategy string
		mergeKey string
		listKeys []interface{}
	}{
		{appsV1, "io.k8s.api.apps.v1.Deployment", []string{"spec", "template", "spec", "containers"}, "merge", "name", []interface{}{"name"}},
		{appsV1, "io.k8s.api.apps.v1.Deployment", []string{"spec", "template", "spec", "volumes"}, "merge,retainKeys", "name", []interface{}{"name"}},
		{coreV1, "io.k8s.api.core.v1.Pod", []string{"spec", "containers"}, "merge", "name", []interface{}{"name"}},
		{coreV1, "io.k8s.api.core.v1.Service", []string{"spec", "ports"}, "merge", "port", []interface{}{"port", "protocol"}},
	}
	for _, tc := range tests {
		t.Run(tc.def+"."+strings.Join(tc.path, "."), func(t *testing.T) {
			schemas := s.Schemas(tc.gv)
			var l strategicpatch.LookupPatchMeta = strategicpatch.PatchMetaFromOpenAPIV3{SchemaList: schemas, Schema: schemas[tc.def]}
			for _, f := range tc.path[:len(tc.path)-1] {
				next, _, err := l.LookupPatchMetadataForStruct(f)
				if err != nil {
					t.Fatalf("struct %s: %v", f, err)
				}
				l = next
			}
			last := tc.path[len(tc.path)-1]
			_, meta, err := l.LookupPatchMetadataForSlice(last)
			if err != nil {
				t.Fatalf("slice %s: %v", last, err)
			}
			if got := strings.Join(meta.GetPatchStrategies(), ","); got != tc.strategy || meta.GetPatchMergeKey() != tc.mergeKey {
				t.Errorf("patch meta = %q/%q, want %q/%q", got, meta.GetPatchMergeKey(), tc.strategy, tc.mergeKey)
			}
			prop := l.(strategicpatch.PatchMetaFromOpenAPIV3).Schema.Properties[last]
			if prop.Extensions[extListType] != "map" {
				t.Errorf("list type = %v, want map", prop.Extensions[extListType])
			}
			if keys, _ := prop.Extensions[extListMapKeys].([]interface{}); len(keys) != len(tc.listKeys) || keys[0] != tc.listKeys[0] {
				t.Errorf("list map keys = %v, want %v", keys, tc.listKeys)
			}
		})
	}
}

// TestOperations checks what kubectl reads from paths: the fieldValidation
// parameter on PATCH operations of the kind (QueryParamVerifier) and the
// strategic-merge-patch media type, offered for built-ins only.
func TestOperations(t *testing.T) {
	s := newTestService(t)
	tests := []struct {
		gv      schema.GroupVersion
		kind    string
		wantSMP bool
	}{
		{coreV1, "ConfigMap", true},
		{coreV1, "Pod", true},
		{appsV1, "Deployment", true},
		{certsV1, "CertificateSigningRequest", true},
		{crdsV1, "CustomResourceDefinition", true},
		{surveyV1, "Widget", false},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			doc := v3Doc(t, s, tc.gv)
			found := false
			for path, p := range doc.Paths.Paths {
				for method, op := range map[string]*spec3.Operation{"post": p.Post, "put": p.Put, "patch": p.Patch} {
					if op == nil {
						continue
					}
					for _, want := range []string{"fieldValidation", "dryRun", "fieldManager"} {
						if !hasQueryParam(op, want) {
							t.Errorf("%s %s lacks query parameter %s", method, path, want)
						}
					}
				}
				if p.Patch == nil {
					continue
				}
				gvk, _ := p.Patch.Extensions[extGVK].(map[string]interface{})
				if gvk["kind"] != tc.kind || gvk["group"] != tc.gv.Group || gvk["version"] != tc.gv.Version {
					continue
				}
				found = true
				if p.Patch.RequestBody == nil {
					t.Fatalf("PATCH %s has no request body", path)
				}
				_, smp := p.Patch.RequestBody.Content["application/strategic-merge-patch+json"]
				if smp != tc.wantSMP {
					t.Errorf("PATCH %s offers strategic merge patch = %v, want %v", path, smp, tc.wantSMP)
				}
				if _, ok := p.Patch.RequestBody.Content["application/apply-patch+yaml"]; !ok {
					t.Errorf("PATCH %s lacks server-side apply", path)
				}
			}
			if !found {
				t.Errorf("no PATCH operation tagged with %s %s", tc.gv, tc.kind)
			}
		})
	}
}

func hasQueryParam(op *spec3.Operation, name string) bool {
	for _, p := range op.Parameters {
		if p.Name == name && p.In == "query" {
			return true
		}
	}
	return false
}

func indexHashes(t *testing.T, s *Service) map[string]string {
	t.Helper()
	rec := get(s, "GET", "/openapi/v3", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("index: %d", rec.Code)
	}
	var idx struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &idx); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range idx.Paths {
		prefix := "/openapi/v3/" + k + "?hash="
		if !strings.HasPrefix(v.ServerRelativeURL, prefix) {
			t.Fatalf("index entry %s = %q", k, v.ServerRelativeURL)
		}
		out[k] = strings.TrimPrefix(v.ServerRelativeURL, prefix)
	}
	return out
}

func TestIndexFollowsChanges(t *testing.T) {
	s := NewService()
	s.SetResources(append(builtinResources(), widgetResource("v1", "")))
	h1 := indexHashes(t, s)
	want := []string{"api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1", "apis/rbac.authorization.k8s.io/v1",
		"apis/certificates.k8s.io/v1", "apis/apiextensions.k8s.io/v1", "apis/events.k8s.io/v1",
		"apis/authentication.k8s.io/v1", "apis/authorization.k8s.io/v1", "apis/survey.example.com/v1"}
	for _, p := range want {
		if h1[p] == "" {
			t.Errorf("index lacks %s", p)
		}
	}
	if len(h1) != len(want) {
		t.Errorf("index has %d entries, want %d: %v", len(h1), len(want), h1)
	}

	steps := []struct {
		name      string
		resources []Resource
		changed   []string // paths whose hash must change
		gone      []string
	}{
		{"same set again", append(builtinResources(), widgetResource("v1", "")), nil, nil},
		{"CRD schema updated", append(builtinResources(), widgetResource("v1", "weight")), []string{"apis/survey.example.com/v1"}, nil},
		{"second CRD version", append(builtinResources(), widgetResource("v1", "weight"), widgetResource("v2", "")), nil, nil},
		{"CRD deleted", builtinResources(), nil, []string{"apis/survey.example.com/v1", "apis/survey.example.com/v2"}},
	}
	prev := h1
	for _, st := range steps {
		s.SetResources(st.resources)
		cur := indexHashes(t, s)
		for p, h := range prev {
			if contains(st.gone, p) {
				if _, ok := cur[p]; ok {
					t.Errorf("%s: %s still in the index", st.name, p)
				}
				if rec := get(s, "GET", "/openapi/v3/"+p, nil); rec.Code != http.StatusNotFound {
					t.Errorf("%s: GET %s = %d, want 404", st.name, p, rec.Code)
				}
				continue
			}
			if changed := cur[p] != h; changed != contains(st.changed, p) {
				t.Errorf("%s: hash of %s changed = %v", st.name, p, changed)
			}
		}
		prev = cur
	}
}

func TestHTTP(t *testing.T) {
	s := newTestService(t)
	hash := indexHashes(t, s)["api/v1"]
	tests := []struct {
		name        string
		method      string
		target      string
		header      map[string]string
		code        int
		contentType string
		cache       string
	}{
		{"index", "GET", "/openapi/v3", nil, 200, "application/json", "no-cache, private"},
		{"gv with hash", "GET", "/openapi/v3/api/v1?hash=" + hash, map[string]string{"Accept": "application/json"}, 200, "application/json", "public, immutable"},
		{"gv without hash", "GET", "/openapi/v3/apis/apps/v1", nil, 200, "application/json", "no-cache, private"},
		{"gv HEAD", "HEAD", "/openapi/v3/apis/apps/v1", nil, 200, "application/json", "no-cache, private"},
		{"gv stale hash", "GET", "/openapi/v3/api/v1?hash=0000", nil, 301, "", "no-cache, private"},
		{"gv not modified", "GET", "/openapi/v3/api/v1?hash=" + hash, map[string]string{"If-None-Match": `"` + hash + `"`}, 304, "", "public, immutable"},
		{"unknown gv", "GET", "/openapi/v3/apis/nope.example.com/v1", nil, 404, "application/json", "no-store"},
		{"group only", "GET", "/openapi/v3/apis/apps", nil, 404, "application/json", "no-store"},
		{"trailing slash", "GET", "/openapi/v3/api/v1/", nil, 404, "application/json", "no-store"},
		{"unknown path", "GET", "/openapi/v4", nil, 404, "application/json", "no-store"},
		{"write", "POST", "/openapi/v3/api/v1", nil, 405, "application/json", "no-store"},
		{"v3 protobuf only", "GET", "/openapi/v3/api/v1", map[string]string{"Accept": "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"}, 406, "application/json", "no-store"},
		{"v2 default json", "GET", "/openapi/v2", nil, 200, "application/json", "no-cache, private"},
		{"v2 kubectl protobuf", "GET", "/openapi/v2?timeout=32s", map[string]string{"Accept": mediaV2Proto}, 200, mediaV2ProtoAlt, "no-cache, private"},
		{"v2 protobuf preferred", "GET", "/openapi/v2", map[string]string{"Accept": "application/json;q=0.5, " + mediaV2ProtoAlt}, 200, mediaV2ProtoAlt, "no-cache, private"},
		{"v2 any", "GET", "/openapi/v2", map[string]string{"Accept": "*/*"}, 200, "application/json", "no-cache, private"},
		{"v2 html", "GET", "/openapi/v2", map[string]string{"Accept": "text/html"}, 406, "application/json", "no-store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(s, tc.method, tc.target, tc.header)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); tc.contentType != "" && ct != tc.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != tc.cache {
				t.Errorf("Cache-Control %q, want %q", cc, tc.cache)
			}
			switch {
			case tc.code == 200 && rec.Header().Get("ETag") == "" && tc.target != "/openapi/v3":
				t.Error("no ETag")
			case tc.code == 301 && rec.Header().Get("Location") != "/openapi/v3/api/v1?hash="+hash:
				t.Errorf("redirected to %q", rec.Header().Get("Location"))
			case tc.code >= 400 && !strings.Contains(rec.Body.String(), `"kind":"Status"`):
				t.Errorf("error body is not a Status: %s", rec.Body)
			case tc.method == "HEAD" && rec.Body.Len() != 0:
				t.Error("HEAD returned a body")
			}
		})
	}
}

// TestV2Protobuf decodes the protobuf document as kubectl does: gnostic's
// Document, then kube-openapi's proto models, then looks a CR up by GVK.
func TestV2Protobuf(t *testing.T) {
	s := newTestService(t)
	rec := get(s, "GET", "/openapi/v2", map[string]string{"Accept": mediaV2Proto})
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var doc openapi_v2.Document
	if err := proto.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("protobuf decode: %v", err)
	}
	if doc.Swagger != "2.0" {
		t.Errorf("swagger = %q", doc.Swagger)
	}
	models, err := protomodels.NewOpenAPIData(&doc)
	if err != nil {
		t.Fatalf("kubectl's model parser rejects the document: %v", err)
	}
	for _, name := range []string{"io.k8s.api.core.v1.ConfigMap", "io.k8s.api.apps.v1.Deployment", "com.example.survey.v1.Widget",
		"io.k8s.api.certificates.v1.CertificateSigningRequest"} {
		m := models.LookupModel(name)
		if m == nil {
			t.Errorf("model %s missing", name)
			continue
		}
		if _, ok := m.GetExtensions()[extGVK]; !ok {
			t.Errorf("model %s has no GVK extension", name)
		}
	}
	// Described references keep their description beside the $ref in v2.
	cm := models.LookupModel("io.k8s.api.core.v1.ConfigMap").(*protomodels.Kind)
	if ref, ok := cm.Fields["metadata"].(*protomodels.Ref); !ok || ref.Reference() != defObjectMeta || ref.GetDescription() == "" {
		t.Errorf("ConfigMap.metadata = %#v, want a described reference to ObjectMeta", cm.Fields["metadata"])
	}
	// The JSON form parses to the same document.
	j := get(s, "GET", "/openapi/v2", nil)
	fromJSON, err := openapi_v2.ParseDocument(j.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(fromJSON, &doc) {
		t.Error("JSON and protobuf v2 documents differ")
	}
	// Round trip: re-encoding the decoded message gives the same bytes.
	again, err := proto.MarshalOptions{Deterministic: true}.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	var doc2 openapi_v2.Document
	if err := proto.Unmarshal(again, &doc2); err != nil || !proto.Equal(&doc, &doc2) {
		t.Errorf("protobuf round trip differs (err %v)", err)
	}
}

func TestDefinitionName(t *testing.T) {
	tests := []struct {
		gv   schema.GroupVersionKind
		want string
	}{
		{schema.GroupVersionKind{Group: "survey.example.com", Version: "v1", Kind: "Widget"}, "com.example.survey.v1.Widget"},
		{schema.GroupVersionKind{Group: "stable", Version: "v1beta1", Kind: "Cron"}, "stable.v1beta1.Cron"},
	}
	for _, tc := range tests {
		if got := crdDefinitionName(tc.gv); got != tc.want {
			t.Errorf("crdDefinitionName(%v) = %q, want %q", tc.gv, got, tc.want)
		}
	}
	s := newTestService(t)
	for _, name := range []string{
		"io.k8s.api.core.v1.ConfigMap",
		"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
		"io.k8s.apimachinery.pkg.api.resource.Quantity",
		"io.k8s.apimachinery.pkg.util.intstr.IntOrString",
	} {
		if s.Schemas(coreV1)[name] == nil {
			t.Errorf("core/v1 lacks %s", name)
		}
	}
	if s.Schemas(crdsV1)["io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"] == nil {
		t.Error("apiextensions/v1 lacks its CRD definition")
	}
	if s.Schemas(schema.GroupVersion{Group: "nope", Version: "v1"}) != nil {
		t.Error("Schemas of an unknown group-version should be nil")
	}
}

// TestConcurrentUse serves documents while the resource set changes; run
// with -race.
func TestConcurrentUse(t *testing.T) {
	s := NewService()
	sets := [][]Resource{
		append(builtinResources(), widgetResource("v1", "")),
		append(builtinResources(), widgetResource("v1", "other")),
	}
	s.SetResources(sets[0])
	done := make(chan struct{})
	errs := make(chan string, 8)
	for g := 0; g < 3; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 5; i++ {
				for _, p := range []string{"/openapi/v3", "/openapi/v3/apis/survey.example.com/v1", "/openapi/v3/apis/apps/v1"} {
					if rec := get(s, "GET", p, nil); rec.Code != http.StatusOK {
						errs <- p + ": " + rec.Body.String()
						return
					}
				}
				_ = s.Schemas(surveyV1)
			}
		}()
	}
	for i := 0; i < 10; i++ {
		s.SetResources(sets[i%2])
	}
	for g := 0; g < 3; g++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

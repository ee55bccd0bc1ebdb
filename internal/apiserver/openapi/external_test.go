package openapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// staticExternals is a settable Externals.
type staticExternals struct {
	gen atomic.Uint64
	v2  [][]byte
	v3  map[string]string
}

func (e *staticExternals) Generation() uint64           { return e.gen.Load() }
func (e *staticExternals) OpenAPIV2() [][]byte          { return e.v2 }
func (e *staticExternals) OpenAPIV3() map[string]string { return e.v3 }

func TestMergeV2(t *testing.T) {
	base := []byte(`{"swagger":"2.0","info":{"title":"Kubernetes"},"paths":{"/api/v1/pods":{"get":{}}},"definitions":{"io.k8s.api.core.v1.Pod":{"type":"object"}}}`)
	tests := []struct {
		name        string
		others      []string
		paths, defs []string
		podType     string
	}{
		{name: "adds paths and definitions", others: []string{`{"paths":{"/apis/x/v1/foos":{}},"definitions":{"x.Foo":{"type":"object"}}}`},
			paths: []string{"/api/v1/pods", "/apis/x/v1/foos"}, defs: []string{"io.k8s.api.core.v1.Pod", "x.Foo"}, podType: "object"},
		{name: "built-ins are not redefined", others: []string{`{"definitions":{"io.k8s.api.core.v1.Pod":{"type":"string"}}}`},
			paths: []string{"/api/v1/pods"}, defs: []string{"io.k8s.api.core.v1.Pod"}, podType: "object"},
		{name: "broken document adds nothing", others: []string{`{"paths":`, `{"paths":{"/apis/y/v1/bars":{}}}`},
			paths: []string{"/api/v1/pods", "/apis/y/v1/bars"}, defs: []string{"io.k8s.api.core.v1.Pod"}, podType: "object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var others [][]byte
			for _, o := range tc.others {
				others = append(others, []byte(o))
			}
			out, err := mergeV2(base, others)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Swagger     string                           `json:"swagger"`
				Paths       map[string]json.RawMessage       `json:"paths"`
				Definitions map[string]struct{ Type string } `json:"definitions"`
				Info        map[string]string                `json:"info"`
			}
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Swagger != "2.0" || doc.Info["title"] != "Kubernetes" || len(doc.Paths) != len(tc.paths) || len(doc.Definitions) != len(tc.defs) {
				t.Errorf("merged %s", out)
			}
			for _, p := range tc.paths {
				if _, ok := doc.Paths[p]; !ok {
					t.Errorf("path %s missing", p)
				}
			}
			if doc.Definitions["io.k8s.api.core.v1.Pod"].Type != tc.podType {
				t.Errorf("Pod redefined: %s", out)
			}
		})
	}
}

func TestServeExternals(t *testing.T) {
	s := NewService()
	s.SetResources(builtinResources())
	ext := &staticExternals{}
	s.SetExternals(ext)
	get := func(path string) string {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	if strings.Contains(get("/openapi/v2"), "x.Foo") || strings.Contains(get("/openapi/v3"), "apis/x/v1") {
		t.Fatal("external content before any is set")
	}
	ext.v2 = [][]byte{[]byte(`{"definitions":{"x.Foo":{"type":"object"}}}`)}
	ext.v3 = map[string]string{"apis/x/v1": "/openapi/v3/apis/x/v1?hash=H", "api/v1": "/elsewhere"}
	ext.gen.Add(1)
	if v2 := get("/openapi/v2"); !strings.Contains(v2, `"x.Foo"`) || !strings.Contains(v2, `"io.k8s.api.core.v1.Pod"`) {
		t.Error("merged /openapi/v2 lacks a definition")
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/openapi/v2", nil)
	req.Header.Set("Accept", mediaV2Proto)
	s.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "x.Foo") {
		t.Errorf("merged protobuf document: %d", rec.Code)
	}
	var idx struct {
		Paths map[string]struct{ ServerRelativeURL string } `json:"paths"`
	}
	if err := json.Unmarshal([]byte(get("/openapi/v3")), &idx); err != nil {
		t.Fatal(err)
	}
	if idx.Paths["apis/x/v1"].ServerRelativeURL != "/openapi/v3/apis/x/v1?hash=H" || !strings.HasPrefix(idx.Paths["api/v1"].ServerRelativeURL, "/openapi/v3/api/v1?hash=") {
		t.Errorf("index %+v", idx.Paths)
	}
}

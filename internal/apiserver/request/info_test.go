package request

import (
	"net/http/httptest"
	"testing"
)

func TestParseInfo(t *testing.T) {
	tests := []struct {
		method, url string
		want        Info
	}{
		{"GET", "/api/v1/namespaces", Info{IsResourceRequest: true, Verb: "list", APIPrefix: "api", APIVersion: "v1", Resource: "namespaces"}},
		{"GET", "/api/v1/namespaces/foo", Info{IsResourceRequest: true, Verb: "get", APIPrefix: "api", APIVersion: "v1", Resource: "namespaces", Name: "foo", Namespace: "foo"}},
		{"PUT", "/api/v1/namespaces/foo/status", Info{IsResourceRequest: true, Verb: "update", APIPrefix: "api", APIVersion: "v1", Resource: "namespaces", Name: "foo", Namespace: "foo", Subresource: "status"}},
		{"GET", "/api/v1/namespaces/x/configmaps?watch=true", Info{IsResourceRequest: true, Verb: "watch", APIPrefix: "api", APIVersion: "v1", Namespace: "x", Resource: "configmaps"}},
		{"DELETE", "/api/v1/namespaces/x/configmaps", Info{IsResourceRequest: true, Verb: "deletecollection", APIPrefix: "api", APIVersion: "v1", Namespace: "x", Resource: "configmaps"}},
		{"PATCH", "/apis/apps/v1/namespaces/x/deployments/d/scale", Info{IsResourceRequest: true, Verb: "patch", APIPrefix: "apis", APIGroup: "apps", APIVersion: "v1", Namespace: "x", Resource: "deployments", Name: "d", Subresource: "scale"}},
		{"POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", Info{IsResourceRequest: true, Verb: "create", APIPrefix: "apis", APIGroup: "certificates.k8s.io", APIVersion: "v1", Resource: "certificatesigningrequests"}},
		{"GET", "/apis/apps", Info{Verb: "get", APIPrefix: "apis", APIGroup: "apps"}},
		{"GET", "/healthz", Info{Verb: "get"}},
		{"GET", "/api/v1", Info{Verb: "get", APIPrefix: "api", APIVersion: "v1"}},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.url, nil)
		got, err := ParseInfo(r)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.url, err)
		}
		tt.want.Path = r.URL.Path
		if *got != tt.want {
			t.Errorf("%s %s:\n got %+v\nwant %+v", tt.method, tt.url, *got, tt.want)
		}
	}
	if _, err := ParseInfo(httptest.NewRequest("GET", "/api/v1/namespaces/x/configmaps/a/b/c", nil)); err == nil {
		t.Error("too deep path: want error")
	}
}

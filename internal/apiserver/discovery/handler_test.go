package discovery

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apidiscoveryv2beta1 "k8s.io/api/apidiscovery/v2beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/apis"
)

// kubectlAccept is the Accept header kubectl 1.32 sends for /api and /apis.
const kubectlAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"

func newCatalogue(t testing.TB) *apis.Catalogue {
	t.Helper()
	cat, err := apis.NewCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// customResource is a catalogue row of a custom resource in the shape the
// CRD controller produces.
func customResource(group, version, kind, plural string, namespaced bool) *apis.Resource {
	gvk := schema.GroupVersionKind{Group: group, Version: version, Kind: kind}
	newObj := func(k string) func() runtime.Object {
		return func() runtime.Object {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(gvk.GroupVersion().WithKind(k))
			return u
		}
	}
	return &apis.Resource{
		Group: group, Version: version, Kind: kind, ListKind: kind + "List",
		Plural: plural, Singular: strings.ToLower(kind), Namespaced: namespaced,
		ShortNames: []string{"wd"}, Categories: []string{"all", "example"},
		Verbs: apis.StandardVerbs(),
		Subresources: []apis.Subresource{
			{Name: "status", Verbs: []string{"get", "patch", "update"}},
			{Name: "scale", Kind: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, Verbs: []string{"get", "patch", "update"}},
		},
		StatusField: "status", Custom: true, StorageCodec: "json",
		EtcdPrefix: group + "/" + plural,
		New:        newObj(kind), NewList: newObj(kind + "List"),
	}
}

// get serves one request and returns the recorder.
func get(h http.Handler, path, accept string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "https://127.0.0.1:6443"+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decode(t *testing.T, rec *httptest.ResponseRecorder, into interface{}) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), into); err != nil {
		t.Fatalf("decoding %s: %v", rec.Body.String(), err)
	}
}

func TestLegacyDocuments(t *testing.T) {
	h := New(newCatalogue(t))
	tests := []struct {
		path, accept string
		check        func(t *testing.T, rec *httptest.ResponseRecorder)
	}{
		{"/api", "", checkAPIVersions},
		{"/api/", "application/json", checkAPIVersions},
		{"/api", "*/*", checkAPIVersions},
		{"/api", "application/yaml;q=0.5, application/*", checkAPIVersions},
		{"/apis", "application/json", func(t *testing.T, rec *httptest.ResponseRecorder) {
			var l metav1.APIGroupList
			decode(t, rec, &l)
			if l.Kind != "APIGroupList" || l.APIVersion != "v1" {
				t.Errorf("type meta %+v", l.TypeMeta)
			}
			var names []string
			for _, g := range l.Groups {
				names = append(names, g.Name)
				if g.Name == "autoscaling" {
					// Served at v2 (preferred, the storage version) and v1.
					if g.PreferredVersion.Version != "v2" || len(g.Versions) != 2 || g.Versions[1].GroupVersion != "autoscaling/v1" {
						t.Errorf("group %+v", g)
					}
					continue
				}
				if g.PreferredVersion.Version != "v1" || len(g.Versions) != 1 || g.Versions[0].GroupVersion != g.Name+"/v1" {
					t.Errorf("group %+v", g)
				}
			}
			want := []string{"apps", "coordination.k8s.io", "rbac.authorization.k8s.io", "certificates.k8s.io", "apiextensions.k8s.io", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
				"autoscaling", "batch", "policy"}
			// The groups of builtins_more.go.
			want = append(want, "discovery.k8s.io", "networking.k8s.io", "node.k8s.io", "scheduling.k8s.io", "storage.k8s.io", "flowcontrol.apiserver.k8s.io", "apiregistration.k8s.io")
			want = append(want, "admissionregistration.k8s.io")
			if !slices.Equal(names, want) {
				t.Errorf("groups %v, want %v", names, want)
			}
		}},
		{"/apis/apps/", "", func(t *testing.T, rec *httptest.ResponseRecorder) {
			var g metav1.APIGroup
			decode(t, rec, &g)
			if g.Kind != "APIGroup" || g.APIVersion != "v1" || g.Name != "apps" || g.PreferredVersion.GroupVersion != "apps/v1" {
				t.Errorf("group %+v", g)
			}
		}},
		{"/api/v1", "", func(t *testing.T, rec *httptest.ResponseRecorder) {
			l := checkResourceList(t, rec, "v1")
			if l.APIVersion != "" {
				t.Errorf("core resource list has apiVersion %q; kube-apiserver sends none", l.APIVersion)
			}
			pods := findResource(t, l, "pods")
			if !pods.Namespaced || pods.Kind != "Pod" || pods.SingularName != "pod" || !slices.Equal(pods.ShortNames, []string{"po"}) ||
				!slices.Equal(pods.Categories, []string{"all"}) || pods.StorageVersionHash == "" {
				t.Errorf("pods %+v", pods)
			}
			ns := findResource(t, l, "namespaces")
			if ns.Namespaced {
				t.Errorf("namespaces namespaced")
			}
			st := findResource(t, l, "pods/status")
			if st.Kind != "Pod" || st.SingularName != "" || st.Group != "" || !slices.Equal(st.Verbs, []string{"get", "patch", "update"}) {
				t.Errorf("pods/status %+v", st)
			}
		}},
		{"/apis/apps/v1/", "application/json, */*", func(t *testing.T, rec *httptest.ResponseRecorder) {
			l := checkResourceList(t, rec, "apps/v1")
			if l.APIVersion != "v1" {
				t.Errorf("apiVersion %q", l.APIVersion)
			}
			d := findResource(t, l, "deployments")
			if d.Kind != "Deployment" || !slices.Equal(d.Verbs, apis.StandardVerbs()) || !slices.Equal(d.ShortNames, []string{"deploy"}) {
				t.Errorf("deployments %+v", d)
			}
			if s := findResource(t, l, "deployments/scale"); s.Group != "autoscaling" || s.Version != "v1" || s.Kind != "Scale" || !s.Namespaced {
				t.Errorf("deployments/scale %+v", s)
			}
			if s := findResource(t, l, "deployments/status"); s.Kind != "Deployment" || s.Group != "" {
				t.Errorf("deployments/status %+v", s)
			}
			if !slices.IsSortedFunc(l.APIResources, func(a, b metav1.APIResource) int { return strings.Compare(a.Name, b.Name) }) {
				t.Errorf("resources not sorted by name")
			}
		}},
		{"/apis/certificates.k8s.io/v1", "", func(t *testing.T, rec *httptest.ResponseRecorder) {
			l := checkResourceList(t, rec, "certificates.k8s.io/v1")
			if a := findResource(t, l, "certificatesigningrequests/approval"); a.Kind != "CertificateSigningRequest" || a.Namespaced {
				t.Errorf("approval %+v", a)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.accept, func(t *testing.T) {
			rec := get(h, tt.path, tt.accept)
			if rec.Code != http.StatusOK {
				t.Fatalf("code %d: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			tt.check(t, rec)
		})
	}
}

func checkAPIVersions(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var raw map[string]interface{}
	decode(t, rec, &raw)
	if _, ok := raw["apiVersion"]; ok {
		t.Errorf("APIVersions has apiVersion; kube-apiserver sends none: %s", rec.Body)
	}
	var v metav1.APIVersions
	decode(t, rec, &v)
	want := []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: "127.0.0.1:6443"}}
	if v.Kind != "APIVersions" || !slices.Equal(v.Versions, []string{"v1"}) || !slices.Equal(v.ServerAddressByClientCIDRs, want) {
		t.Errorf("APIVersions %s", rec.Body)
	}
}

func checkResourceList(t *testing.T, rec *httptest.ResponseRecorder, gv string) *metav1.APIResourceList {
	t.Helper()
	var l metav1.APIResourceList
	decode(t, rec, &l)
	if l.Kind != "APIResourceList" || l.GroupVersion != gv {
		t.Errorf("list %s: kind %q groupVersion %q", gv, l.Kind, l.GroupVersion)
	}
	for _, r := range l.APIResources {
		if r.Verbs == nil {
			t.Errorf("%s: nil verbs", r.Name)
		}
	}
	return &l
}

func findResource(t *testing.T, l *metav1.APIResourceList, name string) metav1.APIResource {
	t.Helper()
	for _, r := range l.APIResources {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("%s: no %s", l.GroupVersion, name)
	return metav1.APIResource{}
}

func TestAggregatedDocuments(t *testing.T) {
	h := New(newCatalogue(t))
	tests := []struct {
		path, accept, contentType string
		v2beta1                   bool
	}{
		{"/api", kubectlAccept, ContentTypeAggregatedV2, false},
		{"/apis", kubectlAccept, ContentTypeAggregatedV2, false},
		{"/apis/", ContentTypeAggregatedV2, ContentTypeAggregatedV2, false},
		{"/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,application/json", ContentTypeAggregatedV2, false},
		{"/api", ContentTypeAggregatedV2beta1 + ",application/json", ContentTypeAggregatedV2beta1, true},
		{"/apis", "application/json;q=0.5, " + ContentTypeAggregatedV2beta1, ContentTypeAggregatedV2beta1, true},
		{"/apis", "application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io", ContentTypeAggregatedV2, false},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.accept, func(t *testing.T) {
			rec := get(h, tt.path, tt.accept)
			if rec.Code != http.StatusOK {
				t.Fatalf("code %d: %s", rec.Code, rec.Body)
			}
			hdr := rec.Header()
			if hdr.Get("Content-Type") != tt.contentType || hdr.Get("Vary") != "Accept" || hdr.Get("Cache-Control") != "public" ||
				!strings.HasPrefix(hdr.Get("ETag"), `"`) || !strings.HasSuffix(hdr.Get("ETag"), `"`) {
				t.Errorf("headers %v", hdr)
			}
			var l apidiscoveryv2.APIGroupDiscoveryList
			if tt.v2beta1 {
				var b apidiscoveryv2beta1.APIGroupDiscoveryList
				decode(t, rec, &b)
				if b.APIVersion != "apidiscovery.k8s.io/v2beta1" {
					t.Errorf("apiVersion %q", b.APIVersion)
				}
				// Same shape: re-decoding into v2 lets one check cover both.
				decode(t, rec, &l)
			} else {
				decode(t, rec, &l)
				if l.APIVersion != "apidiscovery.k8s.io/v2" {
					t.Errorf("apiVersion %q", l.APIVersion)
				}
			}
			if l.Kind != "APIGroupDiscoveryList" {
				t.Errorf("kind %q", l.Kind)
			}
			checkAggregated(t, tt.path, &l)
		})
	}
}

func checkAggregated(t *testing.T, path string, l *apidiscoveryv2.APIGroupDiscoveryList) {
	t.Helper()
	byName := map[string]apidiscoveryv2.APIGroupDiscovery{}
	for _, g := range l.Items {
		byName[g.Name] = g
		for _, v := range g.Versions {
			if v.Freshness != apidiscoveryv2.DiscoveryFreshnessCurrent {
				t.Errorf("%s/%s freshness %q", g.Name, v.Version, v.Freshness)
			}
		}
	}
	if strings.TrimSuffix(path, "/") == "/api" {
		core, ok := byName[""]
		if len(l.Items) != 1 || !ok {
			t.Fatalf("/api groups %v", byName)
		}
		cm := findAggregated(t, core, "v1", "configmaps")
		if cm.Scope != apidiscoveryv2.ScopeNamespace || cm.SingularResource != "configmap" || cm.ResponseKind.Kind != "ConfigMap" ||
			cm.ResponseKind.Group != "" || cm.ResponseKind.Version != "v1" || !slices.Equal(cm.ShortNames, []string{"cm"}) {
			t.Errorf("configmaps %+v", cm)
		}
		if no := findAggregated(t, core, "v1", "nodes"); no.Scope != apidiscoveryv2.ScopeCluster || len(no.Subresources) != 2 {
			t.Errorf("nodes %+v", no)
		}
		return
	}
	if _, ok := byName[""]; ok {
		t.Errorf("/apis holds the core group")
	}
	apps, ok := byName["apps"]
	if !ok {
		t.Fatalf("no apps group")
	}
	d := findAggregated(t, apps, "v1", "deployments")
	if *d.ResponseKind != (metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}) ||
		!slices.Equal(d.Categories, []string{"all"}) || !slices.Equal(d.Verbs, apis.StandardVerbs()) {
		t.Errorf("deployments %+v", d)
	}
	subs := map[string]metav1.GroupVersionKind{}
	for _, s := range d.Subresources {
		subs[s.Subresource] = *s.ResponseKind
		if !slices.Equal(s.Verbs, []string{"get", "patch", "update"}) {
			t.Errorf("deployments/%s verbs %v", s.Subresource, s.Verbs)
		}
	}
	want := map[string]metav1.GroupVersionKind{
		"status": {Group: "apps", Version: "v1", Kind: "Deployment"},
		"scale":  {Group: "autoscaling", Version: "v1", Kind: "Scale"},
	}
	if len(subs) != len(want) || subs["status"] != want["status"] || subs["scale"] != want["scale"] {
		t.Errorf("deployments subresources %v", subs)
	}
	if crd := findAggregated(t, byName["apiextensions.k8s.io"], "v1", "customresourcedefinitions"); crd.Scope != apidiscoveryv2.ScopeCluster ||
		!slices.Equal(crd.ShortNames, []string{"crd", "crds"}) || !slices.Equal(crd.Categories, []string{"api-extensions"}) {
		t.Errorf("crds %+v", crd)
	}
}

func findAggregated(t *testing.T, g apidiscoveryv2.APIGroupDiscovery, version, resource string) apidiscoveryv2.APIResourceDiscovery {
	t.Helper()
	for _, v := range g.Versions {
		if v.Version != version {
			continue
		}
		for _, r := range v.Resources {
			if r.Resource == resource {
				return r
			}
		}
	}
	t.Fatalf("group %q: no %s/%s", g.Name, version, resource)
	return apidiscoveryv2.APIResourceDiscovery{}
}

func TestErrors(t *testing.T) {
	h := New(newCatalogue(t))
	tests := []struct {
		method, path, accept string
		code                 int
		reason               metav1.StatusReason
	}{
		{"GET", "/apis/nope", "", 404, metav1.StatusReasonNotFound},
		{"GET", "/apis/nope/v1", "", 404, metav1.StatusReasonNotFound},
		{"GET", "/apis/apps/v2", "", 404, metav1.StatusReasonNotFound},
		{"GET", "/api/v2", "", 404, metav1.StatusReasonNotFound},
		{"GET", "/apis/v1", "", 404, metav1.StatusReasonNotFound},
		{"GET", "/apis/apps/v1/deployments", "", 404, metav1.StatusReasonNotFound},
		{"GET", "/healthz", "", 404, metav1.StatusReasonNotFound},
		{"POST", "/apis", "", 405, metav1.StatusReasonMethodNotAllowed},
		{"DELETE", "/api/v1", "", 405, metav1.StatusReasonMethodNotAllowed},
		{"HEAD", "/apis/apps", "", 405, metav1.StatusReasonMethodNotAllowed},
		{"GET", "/apis", "application/yaml", 406, metav1.StatusReasonNotAcceptable},
		{"GET", "/api", "application/json;q=0", 406, metav1.StatusReasonNotAcceptable},
		{"GET", "/apis", "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList", 406, metav1.StatusReasonNotAcceptable},
		{"GET", "/apis", "application/json;g=meta.k8s.io;v=v1;as=Table", 406, metav1.StatusReasonNotAcceptable},
		{"GET", "/apis", "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", 406, metav1.StatusReasonNotAcceptable},
		{"GET", "/api/v1", ContentTypeAggregatedV2, 406, metav1.StatusReasonNotAcceptable},
		{"GET", "/apis/apps", "text/html", 406, metav1.StatusReasonNotAcceptable},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.accept, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("code %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			var st metav1.Status
			decode(t, rec, &st)
			if st.Kind != "Status" || st.APIVersion != "v1" || st.Status != metav1.StatusFailure || st.Reason != tt.reason || int(st.Code) != tt.code || st.Message == "" {
				t.Errorf("status %+v", st)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestETag(t *testing.T) {
	cat := newCatalogue(t)
	h := New(cat)
	first := get(h, "/apis", kubectlAccept)
	etag := first.Header().Get("ETag")
	beta := get(h, "/apis", ContentTypeAggregatedV2beta1).Header().Get("ETag")
	if beta == etag {
		t.Errorf("v2 and v2beta1 bodies share ETag %s", etag)
	}
	tests := []struct {
		name, ifNoneMatch string
		code              int
	}{
		{"same", etag, http.StatusNotModified},
		{"weak", "W/" + etag, http.StatusNotModified},
		{"list", `"x", ` + etag, http.StatusNotModified},
		{"star", "*", http.StatusNotModified},
		{"other", `"0123"`, http.StatusOK},
		{"unquoted", strings.Trim(etag, `"`), http.StatusOK},
		{"other version", beta, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(h, "/apis", kubectlAccept, "If-None-Match", tt.ifNoneMatch)
			if rec.Code != tt.code {
				t.Fatalf("code %d, want %d", rec.Code, tt.code)
			}
			if rec.Header().Get("ETag") != etag || rec.Header().Get("Vary") != "Accept" {
				t.Errorf("headers %v", rec.Header())
			}
			if tt.code == http.StatusNotModified && rec.Body.Len() != 0 {
				t.Errorf("304 with body")
			}
			if tt.code == http.StatusOK && rec.Body.String() != first.Body.String() {
				t.Errorf("body changed")
			}
		})
	}

	if err := cat.SetCustom("widgets.example.com", []*apis.Resource{customResource("example.com", "v1", "Widget", "widgets", true)}); err != nil {
		t.Fatal(err)
	}
	rec := get(h, "/apis", kubectlAccept, "If-None-Match", etag)
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag {
		t.Errorf("after a CRD change: code %d, ETag %s (old %s)", rec.Code, rec.Header().Get("ETag"), etag)
	}
	// /api holds only the core group, which the CRD did not change.
	coreBefore := get(h, "/api", kubectlAccept).Header().Get("ETag")
	if err := cat.SetCustom("widgets.example.com", nil); err != nil {
		t.Fatal(err)
	}
	if got := get(h, "/api", kubectlAccept).Header().Get("ETag"); got != coreBefore {
		t.Errorf("/api ETag changed with a custom resource: %s -> %s", coreBefore, got)
	}
}

func TestCustomResources(t *testing.T) {
	cat := newCatalogue(t)
	h := New(cat)
	if rec := get(h, "/apis/example.com", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("before the CRD: %d", rec.Code)
	}
	// Served versions in CRD order; discovery orders them by priority.
	var rs []*apis.Resource
	for _, v := range []string{"v1beta1", "v2alpha1", "v1", "v10", "foo"} {
		rs = append(rs, customResource("example.com", v, "Widget", "widgets", true))
	}
	if err := cat.SetCustom("widgets.example.com", rs); err != nil {
		t.Fatal(err)
	}
	wantVersions := []string{"v10", "v1", "v1beta1", "v2alpha1", "foo"}

	var g metav1.APIGroup
	decode(t, get(h, "/apis/example.com", ""), &g)
	var versions []string
	for _, v := range g.Versions {
		versions = append(versions, v.Version)
	}
	if !slices.Equal(versions, wantVersions) || g.PreferredVersion.GroupVersion != "example.com/v10" {
		t.Errorf("group %+v", g)
	}

	var groups metav1.APIGroupList
	decode(t, get(h, "/apis", ""), &groups)
	if last := groups.Groups[len(groups.Groups)-1]; last.Name != "example.com" || last.PreferredVersion.Version != "v10" {
		t.Errorf("last group %+v", last)
	}

	l := checkResourceList(t, get(h, "/apis/example.com/v1beta1", ""), "example.com/v1beta1")
	w := findResource(t, l, "widgets")
	if w.Kind != "Widget" || !w.Namespaced || w.StorageVersionHash != "" || !slices.Equal(w.ShortNames, []string{"wd"}) {
		t.Errorf("widgets %+v", w)
	}
	if s := findResource(t, l, "widgets/scale"); s.Group != "autoscaling" || s.Kind != "Scale" {
		t.Errorf("widgets/scale %+v", s)
	}

	var agg apidiscoveryv2.APIGroupDiscoveryList
	decode(t, get(h, "/apis", kubectlAccept), &agg)
	ex := agg.Items[len(agg.Items)-1]
	versions = nil
	for _, v := range ex.Versions {
		versions = append(versions, v.Version)
	}
	if ex.Name != "example.com" || !slices.Equal(versions, wantVersions) {
		t.Fatalf("aggregated group %s versions %v", ex.Name, versions)
	}
	if r := findAggregated(t, ex, "v1", "widgets"); r.ResponseKind.Version != "v1" || !slices.Equal(r.Categories, []string{"all", "example"}) {
		t.Errorf("aggregated widgets %+v", r)
	}

	if err := cat.SetCustom("widgets.example.com", nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/apis/example.com", "/apis/example.com/v1"} {
		if rec := get(h, p, ""); rec.Code != http.StatusNotFound {
			t.Errorf("%s after removal: %d", p, rec.Code)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/api", true}, {"/api/", true}, {"/api/v1", true}, {"/api/v1/", true},
		{"/apis", true}, {"/apis/", true}, {"/apis/apps", true}, {"/apis/apps/v1/", true},
		{"/api/v1/pods", false}, {"/apis/apps/v1/deployments", false}, {"/apis//v1", false},
		{"/apis/apps//", false}, {"/apisx", false}, {"/", false}, {"", false}, {"/openapi/v2", false},
	}
	for _, tt := range tests {
		if got := Match(tt.path); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept     string
		aggregated bool
		want       format
	}{
		{"", true, formatLegacy},
		{"  ", false, formatLegacy},
		{kubectlAccept, true, formatAggregatedV2},
		{kubectlAccept, false, formatLegacy},
		{acceptClientGo, true, formatAggregatedV2},
		{acceptClientGoNoPeer, true, formatAggregatedV2},
		{acceptClientGoNoPeer, false, formatLegacy},
		{"*/*", false, formatLegacy},
		{"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", false, formatNone},
		{"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer", true, formatAggregatedV2},
		{"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=other", true, formatNone},
		{"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0.1, application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", true, formatAggregatedV2b1},
		{"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0, application/json", true, formatLegacy},
		{"application/json; charset=utf-8", true, formatLegacy},
		{"text/plain, */*;q=0.1", true, formatLegacy},
		{"text/plain", true, formatNone},
		{"application/json;q=bogus", true, formatNone},
		{";;;, application/json", true, formatLegacy},
		{"application/vnd.kubernetes.protobuf, application/json", false, formatLegacy},
	}
	for _, tt := range tests {
		if got := negotiate(tt.accept, tt.aggregated); got != tt.want {
			t.Errorf("negotiate(%q, %v) = %v, want %v", tt.accept, tt.aggregated, got, tt.want)
		}
	}
}

// TestConcurrentChanges serves requests while the catalogue changes; run
// with -race it checks the lazy rebuild.
func TestConcurrentChanges(t *testing.T) {
	cat := newCatalogue(t)
	h := New(cat)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if rec := get(h, "/apis", kubectlAccept); rec.Code != http.StatusOK {
					t.Errorf("code %d", rec.Code)
					return
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		var rs []*apis.Resource
		if i%2 == 0 {
			rs = []*apis.Resource{customResource("example.com", "v1", "Widget", "widgets", false)}
		}
		if err := cat.SetCustom("widgets.example.com", rs); err != nil {
			t.Fatal(err)
		}
		// A change is visible to the very next request.
		code := get(h, "/apis/example.com/v1", "").Code
		if (i%2 == 0) != (code == http.StatusOK) {
			t.Fatalf("change %d: code %d", i, code)
		}
	}
	close(stop)
	wg.Wait()
}

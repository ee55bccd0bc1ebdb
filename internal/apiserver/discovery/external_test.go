package discovery

import (
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeExternals is a settable Externals.
type fakeExternals struct {
	gen  atomic.Uint64
	list atomic.Pointer[[]External]
}

func (f *fakeExternals) Generation() uint64   { return f.gen.Load() }
func (f *fakeExternals) External() []External { return *f.list.Load() }
func (f *fakeExternals) set(e ...External)    { f.list.Store(&e); f.gen.Add(1) }

func TestExternalGroups(t *testing.T) {
	h := New(newCatalogue(t))
	ext := &fakeExternals{}
	ext.set()
	h.SetExternals(ext)
	metrics := &metav1.APIResourceList{GroupVersion: "metrics.example.com/v1beta1", APIResources: []metav1.APIResource{
		{Name: "widgets", SingularName: "widget", Namespaced: true, Kind: "Widget", Verbs: []string{"get", "list", "watch"}, ShortNames: []string{"wg"}},
		{Name: "widgets/status", Namespaced: true, Kind: "Widget", Verbs: []string{"get"}},
		{Name: "gadgets", Kind: "Gadget", Verbs: []string{"get"}},
	}}
	tests := []struct {
		name string
		ext  []External
		// want: group → versions in order, with freshness and resources of
		// the external one.
		group     string
		versions  []string
		freshness apidiscoveryv2.DiscoveryFreshness
		resources []string
	}{
		{name: "fetched", ext: []External{{GroupVersion: schema.GroupVersion{Group: "metrics.example.com", Version: "v1beta1"}, GroupPriority: 100, VersionPriority: 100, Resources: metrics}},
			group: "metrics.example.com", versions: []string{"v1beta1"}, freshness: apidiscoveryv2.DiscoveryFreshnessCurrent,
			resources: []string{"gadgets", "widgets"}},
		{name: "unreachable stays listed, stale", ext: []External{{GroupVersion: schema.GroupVersion{Group: "metrics.example.com", Version: "v1beta1"}, GroupPriority: 100, VersionPriority: 100}},
			group: "metrics.example.com", versions: []string{"v1beta1"}, freshness: apidiscoveryv2.DiscoveryFreshnessStale, resources: []string{}},
		{name: "versions by priority", ext: []External{
			{GroupVersion: schema.GroupVersion{Group: "x.example.com", Version: "v1"}, GroupPriority: 10, VersionPriority: 5, Resources: &metav1.APIResourceList{}},
			{GroupVersion: schema.GroupVersion{Group: "x.example.com", Version: "v2alpha1"}, GroupPriority: 10, VersionPriority: 50, Resources: &metav1.APIResourceList{}}},
			group: "x.example.com", versions: []string{"v2alpha1", "v1"}, freshness: apidiscoveryv2.DiscoveryFreshnessCurrent, resources: []string{}},
		{name: "new version of a served group", ext: []External{{GroupVersion: schema.GroupVersion{Group: "batch", Version: "v2"}, GroupPriority: 1, VersionPriority: 1, Resources: &metav1.APIResourceList{}}},
			group: "batch", versions: []string{"v1", "v2"}, freshness: apidiscoveryv2.DiscoveryFreshnessCurrent, resources: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ext.set(tt.ext...)
			var legacy metav1.APIGroupList
			decode(t, get(h, "/apis", "application/json"), &legacy)
			var lg *metav1.APIGroup
			for i := range legacy.Groups {
				if legacy.Groups[i].Name == tt.group {
					lg = &legacy.Groups[i]
				}
			}
			if lg == nil {
				t.Fatalf("group %s not in /apis", tt.group)
			}
			var got []string
			for _, v := range lg.Versions {
				got = append(got, v.Version)
			}
			if !slices.Equal(got, tt.versions) || lg.PreferredVersion.Version != tt.versions[0] {
				t.Errorf("legacy versions %v preferred %s, want %v", got, lg.PreferredVersion.Version, tt.versions)
			}
			if rec := get(h, "/apis/"+tt.group, ""); rec.Code != http.StatusOK {
				t.Errorf("/apis/%s: %d", tt.group, rec.Code)
			}
			var agg apidiscoveryv2.APIGroupDiscoveryList
			decode(t, get(h, "/apis", ContentTypeAggregatedV2), &agg)
			var ag *apidiscoveryv2.APIGroupDiscovery
			for i := range agg.Items {
				if agg.Items[i].Name == tt.group {
					ag = &agg.Items[i]
				}
			}
			if ag == nil {
				t.Fatalf("group %s not in aggregated /apis", tt.group)
			}
			var extV *apidiscoveryv2.APIVersionDiscovery
			got = nil
			for i, v := range ag.Versions {
				got = append(got, v.Version)
				for _, e := range tt.ext {
					if e.GroupVersion.Version == v.Version && e.GroupVersion.Group == tt.group && extV == nil {
						extV = &ag.Versions[i]
					}
				}
			}
			if !slices.Equal(got, tt.versions) || extV == nil {
				t.Fatalf("aggregated versions %v, want %v", got, tt.versions)
			}
			if extV.Freshness != tt.freshness {
				t.Errorf("freshness %q, want %q", extV.Freshness, tt.freshness)
			}
			var res []string
			for _, r := range extV.Resources {
				res = append(res, r.Resource)
			}
			if !slices.Equal(res, tt.resources) {
				t.Errorf("resources %v, want %v", res, tt.resources)
			}
			if tt.name == "fetched" {
				w := extV.Resources[1]
				if w.Scope != apidiscoveryv2.ScopeNamespace || len(w.Subresources) != 1 || w.Subresources[0].Subresource != "status" ||
					w.ResponseKind.Kind != "Widget" || w.ResponseKind.Group != "metrics.example.com" || w.ShortNames[0] != "wg" {
					t.Errorf("widgets: %+v", w)
				}
			}
			// The external version's resource list is the server's to
			// serve (proxied), not discovery's.
			if rec := get(h, "/apis/"+tt.group+"/"+tt.versions[len(tt.versions)-1], ""); tt.group != "batch" && rec.Code != http.StatusNotFound {
				t.Errorf("external resource list served locally: %d", rec.Code)
			}
		})
	}
}

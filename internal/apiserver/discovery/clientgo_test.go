package discovery

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/kastle-dev/kastle/internal/apis"
)

// acceptLog records the Accept header of each discovery request so the
// test can tell which mode client-go used.
type acceptLog struct {
	next http.Handler
	mu   sync.Mutex
	seen map[string]string // path -> response Content-Type
}

func (a *acceptLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.next.ServeHTTP(w, r)
	a.mu.Lock()
	a.seen[r.URL.Path] = w.Header().Get("Content-Type")
	a.mu.Unlock()
}

// TestClientGo runs client-go's discovery client against the handler, in
// aggregated and in legacy mode, before and after a CRD appears.
func TestClientGo(t *testing.T) {
	cat := newCatalogue(t)
	log := &acceptLog{next: New(cat), seen: map[string]string{}}
	srv := httptest.NewServer(log)
	defer srv.Close()

	tests := []struct {
		name   string
		legacy bool
	}{
		{"aggregated", false},
		{"legacy", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			dc.UseLegacyDiscovery = tt.legacy

			check := func(wantCRD bool) {
				t.Helper()
				log.mu.Lock()
				clear(log.seen)
				log.mu.Unlock()

				groups, lists, err := dc.ServerGroupsAndResources()
				if err != nil {
					t.Fatalf("ServerGroupsAndResources: %v", err)
				}
				names := map[string]metav1.APIGroup{}
				for _, g := range groups {
					names[g.Name] = *g
				}
				if _, ok := names[""]; !ok {
					t.Errorf("no core group in %v", names)
				}
				if g := names["apps"]; g.PreferredVersion.GroupVersion != "apps/v1" {
					t.Errorf("apps group %+v", g)
				}
				res := map[string]metav1.APIResource{}
				for _, l := range lists {
					for _, r := range l.APIResources {
						res[l.GroupVersion+" "+r.Name] = r
					}
				}
				for _, want := range []string{"v1 pods", "v1 pods/status", "apps/v1 deployments/scale", "events.k8s.io/v1 events",
					"certificates.k8s.io/v1 certificatesigningrequests/approval"} {
					if _, ok := res[want]; !ok {
						t.Errorf("no %s", want)
					}
				}
				if s := res["apps/v1 deployments/scale"]; s.Group != "autoscaling" || s.Kind != "Scale" {
					t.Errorf("deployments/scale %+v", s)
				}
				_, hasCRD := res["example.com/v1 widgets"]
				if hasCRD != wantCRD {
					t.Errorf("widgets served %v, want %v", hasCRD, wantCRD)
				}

				preferred, err := dc.ServerPreferredResources()
				if err != nil {
					t.Fatalf("ServerPreferredResources: %v", err)
				}
				// client-go lists every group version, those of
				// non-preferred versions empty.
				gvs := map[string]int{}
				for _, l := range preferred {
					gvs[l.GroupVersion] = len(l.APIResources)
					for _, r := range l.APIResources {
						if strings.Contains(r.Name, "/") {
							t.Errorf("preferred resources hold subresource %s", r.Name)
						}
					}
				}
				if gvs["v1"] == 0 || gvs["apps/v1"] != 5 || gvs["autoscaling/v2"] != 1 || gvs["autoscaling/v1"] != 0 || gvs["example.com/v1beta1"] != 0 || (gvs["example.com/v1"] == 1) != wantCRD {
					t.Errorf("preferred group versions %v", gvs)
				}

				log.mu.Lock()
				defer log.mu.Unlock()
				wantCT := ContentTypeAggregatedV2
				if tt.legacy {
					wantCT = ContentTypeJSON
				}
				if got := log.seen["/apis"]; got != wantCT {
					t.Errorf("/apis answered %q, want %q", got, wantCT)
				}
				if _, fetched := log.seen["/apis/apps/v1"]; fetched != tt.legacy {
					t.Errorf("per-version documents fetched: %v (seen %v)", fetched, log.seen)
				}
			}

			check(false)
			rs := []*apis.Resource{
				customResource("example.com", "v1beta1", "Widget", "widgets", true),
				customResource("example.com", "v1", "Widget", "widgets", true),
			}
			if err := cat.SetCustom("widgets.example.com", rs); err != nil {
				t.Fatal(err)
			}
			check(true)
			ws, err := dc.ServerResourcesForGroupVersion(schema.GroupVersion{Group: "example.com", Version: "v1beta1"}.String())
			if err != nil || len(ws.APIResources) != 3 {
				t.Errorf("example.com/v1beta1: %v %+v", err, ws)
			}
			if err := cat.SetCustom("widgets.example.com", nil); err != nil {
				t.Fatal(err)
			}
			check(false)
		})
	}
}

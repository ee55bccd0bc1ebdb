package aggregator

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// BenchmarkProxy measures a GET of a small list from an extension server
// over TLS: directly with the aggregator's transport (the floor), and
// through the Aggregator's handler (resolution, header rewrite, reverse
// proxy), itself served over TLS the way kastle serves it.
func BenchmarkProxy(b *testing.B) {
	p := newTestPKI(b, "api.wardle.svc")
	ext := newExtension(b, p)
	services := objects{"wardle/api": &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "127.0.0.1"}}}
	a, err := New(Config{ClientCert: func() (*tls.Certificate, error) { return &p.client, nil }, Headers: DefaultHeaders(),
		Services: services, Endpoints: objects{}, EndpointSlices: objects{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if c := a.Sync(context.Background(), []apiregistrationv1.APIService{apiService("wardle", "api", ext.port, p.servingCAPEM)}); c["v1alpha1.wardle.example.com"].Reason != ReasonPassed {
		b.Fatalf("not available: %+v", c)
	}
	front := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.ServeHTTP(w, r.WithContext(request.WithUser(r.Context(), &user.Info{Name: "alice", Groups: []string{"devs"}})))
	}))
	defer front.Close()
	const path = "/apis/wardle.example.com/v1alpha1/flunders"
	direct := a.state.Load().byGV[schema.GroupVersion{Group: "wardle.example.com", Version: "v1alpha1"}]
	get := func(b *testing.B, c *http.Client, url string, host string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.Run("direct", func(b *testing.B) {
		c := &http.Client{Transport: direct.transport}
		url := "https://127.0.0.1:" + strconv.Itoa(int(ext.port)) + path
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			get(b, c, url, "api.wardle.svc")
		}
	})
	b.Run("proxied", func(b *testing.B) {
		c := front.Client()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			get(b, c, front.URL+path, "")
		}
	})
}

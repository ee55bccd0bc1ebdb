package discovery

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler rather than a recorder's buffer growth.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func benchmarkServe(b *testing.B, path, accept string) {
	h := New(newCatalogue(b))
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Accept", accept)
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req) // build the documents outside the timed loop
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkAggregatedAPIs is what every kubectl invocation without a warm
// cache costs: the aggregated /apis document.
func BenchmarkAggregatedAPIs(b *testing.B) { benchmarkServe(b, "/apis", kubectlAccept) }

// BenchmarkLegacyResourceList serves one legacy APIResourceList.
func BenchmarkLegacyResourceList(b *testing.B) {
	benchmarkServe(b, "/apis/apps/v1", "application/json")
}

// BenchmarkRebuild measures building every document after a catalogue
// change (the first request of each generation pays it).
func BenchmarkRebuild(b *testing.B) {
	cat := newCatalogue(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := build([2]uint64{uint64(i)}, cat.Resources()); err != nil {
			b.Fatal(err)
		}
	}
}

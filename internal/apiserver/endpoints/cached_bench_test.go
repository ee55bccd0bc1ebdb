package endpoints

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/registry"
)

// BenchmarkList1000 serves a list of 1,000 ConfigMaps from the watch
// cache, from the cached item encodings ("cached") and by encoding the
// assembled list ("reference", the way every list was served before).
func BenchmarkList1000(b *testing.B) {
	e := newCachedEnv(b)
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%04d", i), Namespace: "ns", Labels: map[string]string{"app.kubernetes.io/managed-by": "bench"}},
			Data:       map[string]string{"key": "value", "index": fmt.Sprint(i)},
		}
		if _, err := e.store.Create(ctx, "ns", cm, registry.WriteOptions{FieldManager: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	benchForms(b, e, "", "", map[string]string{"json": "application/json", "protobuf": acceptProto, "table": acceptTable, "metadata": acceptMetaListPB})
	// What a Go client gets: client-go asks for gzip by itself.
	e.header = http.Header{"Accept-Encoding": {"gzip"}}
	benchForms(b, e, "", "", map[string]string{"json-gzip": "application/json", "protobuf-gzip": acceptProto})
}

// benchForms runs one sub-benchmark per form (name → Accept) and way:
// "cached" as served, "reference" by encoding the whole object.
func benchForms(b *testing.B, e *cachedEnv, name, query string, forms map[string]string) {
	for _, form := range slices.Sorted(maps.Keys(forms)) {
		for _, reference := range []bool{false, true} {
			way := "/cached"
			if reference {
				way = "/reference"
			}
			b.Run(form+way, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					e.serveTo(b, discard{}, name, query, forms[form], reference)
				}
			})
		}
	}
}

// BenchmarkGet serves one ConfigMap from the watch cache, cached and by
// encoding it.
func BenchmarkGet(b *testing.B) {
	e := newCachedEnv(b)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"key": "value"}}
	if _, err := e.store.Create(context.Background(), "ns", cm, registry.WriteOptions{FieldManager: "bench"}); err != nil {
		b.Fatal(err)
	}
	benchForms(b, e, "cm", "resourceVersion=0", map[string]string{"json": "application/json", "protobuf": acceptProto})
}

// discard is a ResponseWriter that drops the body, so that benchmarks
// measure the handler and not a recorder's buffer.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}

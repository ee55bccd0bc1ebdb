package endpoints

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/registry"
)

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"deflate, gzip", true},
		{" br ,gzip ; q=0.5", true},
		{"gzip;q=1.0", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"gzip;q=nonsense", false},
		{"identity", false},
		{"*", false}, // kube-apiserver compresses only for an explicit gzip
		{"x-gzip", false},
		{"gzipped", false},
	} {
		if got := acceptsGzip(tc.header); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

// TestLargeResponsesAreGzipped checks that a response over 128 KiB goes
// out gzipped to a client that accepts it, in every form (cached list
// encodings and whole encodings alike), and decompresses to exactly the
// body an uncompressed request gets; small responses and clients that
// refuse gzip get the body as it is.
func TestLargeResponsesAreGzipped(t *testing.T) {
	e := newCachedEnv(t)
	ctx := context.Background()
	// 160 ConfigMaps of ~1 KiB: every list form but Table and metadata is
	// over the threshold.
	for i := 0; i < 160; i++ {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i), Namespace: "ns", Labels: map[string]string{"app": "compress"}},
			Data:       map[string]string{"payload": strings.Repeat(fmt.Sprintf("%04d", i), 256)},
		}
		if _, err := e.store.Create(ctx, "ns", cm, registry.WriteOptions{FieldManager: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	big := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: "ns"},
		Data:       map[string]string{"payload": strings.Repeat("0123456789abcdef", 10<<10)},
	}
	if _, err := e.store.Create(ctx, "ns", big, registry.WriteOptions{FieldManager: "test"}); err != nil {
		t.Fatal(err)
	}

	serve := func(name, query, accept, encoding string) response {
		t.Helper()
		e.header = http.Header{}
		if encoding != "" {
			e.header.Set("Accept-Encoding", encoding)
		}
		defer func() { e.header = nil }()
		return e.serve(t, name, query, accept, false)
	}
	for _, tc := range []struct {
		name, query, accept string
		compressed          bool
	}{
		{"", "", "application/json", true},
		{"", "", "", true},
		{"", "", acceptProto, true},
		{"", "", "application/yaml", true},
		{"", "pretty=true", "application/json", true},
		{"", "", acceptMetaList, false}, // metadata only: under the threshold
		{"", "labelSelector=app%3Dcompress&limit=10", "application/json", false},
		{"big", "", "application/json", true},
		{"big", "", acceptProto, true},
		{"cm-001", "", "application/json", false},
	} {
		t.Run(fmt.Sprintf("%s?%s %s", tc.name, tc.query, tc.accept), func(t *testing.T) {
			plain := serve(tc.name, tc.query, tc.accept, "")
			if plain.code != http.StatusOK || plain.header.Get("Content-Encoding") != "" {
				t.Fatalf("without Accept-Encoding: %d, Content-Encoding %q", plain.code, plain.header.Get("Content-Encoding"))
			}
			if got := (len(plain.body) > gzipThreshold); got != tc.compressed {
				t.Fatalf("the test expects a body over the threshold: %v, its size is %d", tc.compressed, len(plain.body))
			}
			refused := serve(tc.name, tc.query, tc.accept, "gzip;q=0, identity")
			if refused.header.Get("Content-Encoding") != "" || !bytes.Equal(refused.body, plain.body) {
				t.Errorf("gzip refused: Content-Encoding %q, body equal %v", refused.header.Get("Content-Encoding"), bytes.Equal(refused.body, plain.body))
			}
			got := serve(tc.name, tc.query, tc.accept, "gzip, deflate")
			if got.code != plain.code || got.ct != plain.ct {
				t.Errorf("with gzip: %d %s, without: %d %s", got.code, got.ct, plain.code, plain.ct)
			}
			if !tc.compressed {
				if got.header.Get("Content-Encoding") != "" || !bytes.Equal(got.body, plain.body) {
					t.Errorf("small body: Content-Encoding %q, body equal %v", got.header.Get("Content-Encoding"), bytes.Equal(got.body, plain.body))
				}
				return
			}
			if ce, vary := got.header.Get("Content-Encoding"), got.header.Get("Vary"); ce != "gzip" || vary != "Accept-Encoding" {
				t.Fatalf("Content-Encoding %q, Vary %q; want gzip, Accept-Encoding", ce, vary)
			}
			zr, err := gzip.NewReader(bytes.NewReader(got.body))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("gunzip: %v", err)
			}
			if !bytes.Equal(body, plain.body) {
				t.Errorf("gunzipped body (%d bytes) differs from the plain one (%d bytes)", len(body), len(plain.body))
			}
			if len(got.body)*4 > len(plain.body) {
				t.Errorf("compressed %d bytes to %d: not compressed", len(plain.body), len(got.body))
			}
		})
	}
}

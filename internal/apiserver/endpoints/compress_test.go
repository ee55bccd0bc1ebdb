package endpoints

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

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
			if body := gunzip(t, got.body); !bytes.Equal(body, plain.body) {
				t.Errorf("gunzipped body (%d bytes) differs from the plain one (%d bytes)", len(body), len(plain.body))
			}
			if len(got.body)*4 > len(plain.body) {
				t.Errorf("compressed %d bytes to %d: not compressed", len(plain.body), len(got.body))
			}
		})
	}
}

// TestGzipListItemByItem checks lists compressed from their items' kept
// forms: the body always gunzips to exactly the plain one (JSON and
// protobuf, items over the 8 KiB history, pages), the forms warm up over
// a few requests and are then reused without building, objects that
// change (and their neighbours) are rebuilt, filtered lists do not
// replace the forms full lists use, and concurrent lists during writes
// stay valid.
func TestGzipListItemByItem(t *testing.T) {
	e := newCachedEnv(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 8))
	// Text of words from a small vocabulary: it compresses, as real
	// objects do, but not to nothing.
	vocabulary := strings.Fields("apiVersion kind metadata name namespace labels spec status image replicas container port protocol TCP true false 8080 443 volume mount path")
	word := func(n int) string {
		var b strings.Builder
		for b.Len() < n {
			b.WriteString(vocabulary[r.IntN(len(vocabulary))])
			b.WriteByte(" ,:-"[r.IntN(4)])
			fmt.Fprint(&b, r.IntN(1000))
		}
		return b.String()
	}
	for i := 0; i < 300; i++ {
		size := 300 + r.IntN(800)
		if i%50 == 7 {
			size = 9000 + r.IntN(4000) // over the 8 KiB history
		}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i), Namespace: "ns",
				Labels: map[string]string{"parity": []string{"even", "odd"}[i%2], "app": "items"}},
			Data: map[string]string{"payload": word(size), "index": fmt.Sprint(i)},
		}
		if _, err := e.store.Create(ctx, "ns", cm, registry.WriteOptions{FieldManager: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	// same serves query as accept with and without gzip and compares.
	same := func(t *testing.T, query, accept string) response {
		t.Helper()
		e.header = nil
		plain := e.serve(t, "", query, accept, false)
		e.header = http.Header{"Accept-Encoding": {"gzip"}}
		got := e.serve(t, "", query, accept, false)
		e.header = nil
		if got.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("?%s %s: not gzipped (%d bytes plain)", query, accept, len(plain.body))
		}
		if body := gunzip(t, got.body); !bytes.Equal(body, plain.body) {
			t.Fatalf("?%s %s: gunzipped body (%d bytes) differs from the plain one (%d bytes)", query, accept, len(body), len(plain.body))
		}
		return got
	}
	for _, accept := range []string{"application/json", acceptProto} {
		t.Run(accept, func(t *testing.T) {
			// Warm-up: a list with every form missing goes out compressed
			// as a whole while building maxUnitBuilds forms.
			lists := itemByItem.Load()
			for range 300/maxUnitBuilds + 1 {
				same(t, "", accept)
			}
			if itemByItem.Load() == lists {
				t.Fatal("no list went item by item after warming up")
			}
			builds := unitBuilds.Load()
			lists = itemByItem.Load()
			whole := same(t, "", accept)
			if unitBuilds.Load() != builds || itemByItem.Load() != lists+1 {
				t.Fatalf("warm list: %d forms built, %d lists item by item; want 0 and 1", unitBuilds.Load()-builds, itemByItem.Load()-lists)
			}
			// Compressed item by item, the body is nearly as small as
			// compressed as a whole.
			plain := e.serve(t, "", "", accept, false)
			var ref bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&ref, gzip.BestSpeed)
			_, _ = zw.Write(plain.body)
			_ = zw.Close()
			if len(whole.body) > ref.Len()*3/2 {
				t.Errorf("compressed item by item to %d bytes, as a whole to %d (of %d)", len(whole.body), ref.Len(), len(plain.body))
			}
			t.Logf("%d bytes: %d item by item, %d as a whole", len(plain.body), len(whole.body), ref.Len())

			// A filtered list builds what it needs without keeping it:
			// the full list afterwards still builds nothing.
			same(t, "labelSelector=parity%3Deven", accept)
			builds = unitBuilds.Load()
			same(t, "", accept)
			if n := unitBuilds.Load() - builds; n != 0 {
				t.Errorf("full list after a filtered one built %d forms, want 0", n)
			}
			// Pages: each page is a list of its own.
			cont := ""
			for page := 0; page < 20; page++ {
				q := "limit=130"
				if cont != "" {
					q += "&continue=" + url.QueryEscape(cont)
				}
				e.header = nil
				var l metav1.List
				if err := runtime.DecodeInto(e.h.Ser.JSON, e.serve(t, "", q, "application/json", false).body, &l); err != nil {
					t.Fatal(err)
				}
				if len(e.serve(t, "", q, accept, false).body) > gzipThreshold { // the last page may be small
					same(t, q, accept)
				}
				if cont = l.Continue; cont == "" {
					break
				}
			}
		})
	}
	// Changes: the changed objects and their successors are rebuilt, the
	// rest reused.
	for _, name := range []string{"cm-010", "cm-011", "cm-150", "cm-299"} {
		_, err := e.store.Update(ctx, "ns", name, func(cur runtime.Object) (runtime.Object, error) {
			c := cur.DeepCopyObject().(*corev1.ConfigMap)
			c.Data["payload"] = word(300)
			return c, nil
		}, registry.WriteOptions{FieldManager: "test"})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.Delete(ctx, "ns", "cm-200", &metav1.DeleteOptions{}, false); err != nil {
		t.Fatal(err)
	}
	builds := unitBuilds.Load()
	same(t, "", "application/json")
	if n := unitBuilds.Load() - builds; n < 4 || n > 8 {
		t.Errorf("after 4 updates and a delete, %d forms built; want the changed objects and their successors (5–7)", n)
	}

	// Concurrent lists while objects change: every body is valid.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("cm-%03d", r.IntN(300))
			_, _ = e.store.Update(ctx, "ns", name, func(cur runtime.Object) (runtime.Object, error) {
				c := cur.DeepCopyObject().(*corev1.ConfigMap)
				c.Data["n"] = fmt.Sprint(i)
				return c, nil
			}, registry.WriteOptions{FieldManager: "test"})
		}
	}()
	var lwg sync.WaitGroup
	for range 4 {
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			for range 15 {
				w := httptest.NewRecorder()
				q := e.request(w, "", "", "application/json")
				q.r.Header.Set("Accept-Encoding", "gzip")
				if err := q.list(); err != nil {
					t.Error(err)
					return
				}
				body, err := gunzipErr(w.Body.Bytes())
				if err != nil {
					t.Errorf("gunzip: %v", err)
					return
				}
				var l corev1.ConfigMapList
				if err := json.Unmarshal(body, &l); err != nil || len(l.Items) != 299 {
					t.Errorf("list: %d items, %v", len(l.Items), err)
					return
				}
			}
		}()
	}
	lwg.Wait()
	close(stop)
	wg.Wait()
}

// TestGzipListBudgetSpent checks that when the encodings budget leaves
// no room for the compressed forms, lists still go out correctly
// compressed and stop building forms nobody keeps.
func TestGzipListBudgetSpent(t *testing.T) {
	// The items' JSON (~370 KiB) fits, half of their compressed
	// forms (random hex: about half of the item) does not.
	const budget = 460 << 10
	e := newCachedEnvBudget(t, budget)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 300; i++ {
		payload := make([]byte, 450)
		for j := range payload {
			payload[j] = byte(r.Uint32())
		}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i), Namespace: "ns"},
			Data:       map[string]string{"payload": fmt.Sprintf("%x", payload)},
		}
		if _, err := e.store.Create(ctx, "ns", cm, registry.WriteOptions{FieldManager: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	plain := e.serve(t, "", "", "application/json", false)
	if len(plain.body) <= gzipThreshold || e.budget.Used() > budget*9/10 {
		t.Fatalf("set-up: body %d bytes, budget used %d of %d", len(plain.body), e.budget.Used(), budget)
	}
	e.header = http.Header{"Accept-Encoding": {"gzip"}}
	defer func() { e.header = nil }()
	for round := 0; round < 8; round++ {
		builds := unitBuilds.Load()
		got := e.serve(t, "", "", "application/json", false)
		if body := gunzip(t, got.body); !bytes.Equal(body, plain.body) {
			t.Fatalf("round %d: gunzipped body differs", round)
		}
		// Warming fills what room there is in the first rounds; then
		// each list builds only the one form that finds the budget spent.
		if n := unitBuilds.Load() - builds; round >= 6 && n > 1 {
			t.Errorf("round %d: %d forms built that cannot be kept; want at most the one that finds the budget spent", round, n)
		}
	}
	if e.budget.Used() > budget {
		t.Errorf("budget used %d of %d", e.budget.Used(), budget)
	}
}

// gunzip decompresses a gzip body, failing the test on any error.
func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	out, err := gunzipErr(b)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// gunzipErr decompresses a gzip body (for goroutines, which must not
// call t.Fatal).
func gunzipErr(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

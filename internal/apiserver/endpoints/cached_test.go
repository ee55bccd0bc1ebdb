package endpoints

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/registry/registrytest"
	"github.com/kastle-dev/kastle/internal/storage"
	"github.com/kastle-dev/kastle/internal/storage/cacher"
)

// cachedEnv is a ConfigMap store behind a watch cache that keeps
// encodings, and a handler to serve it.
type cachedEnv struct {
	h      *Handler
	store  *registry.Store
	budget *storage.EncodingBudget
	// header is added to every request.
	header http.Header
}

func newCachedEnv(t testing.TB) *cachedEnv {
	t.Helper()
	return newCachedEnvBudget(t, 64<<20)
}

// newCachedEnvBudget is newCachedEnv with an encodings budget of bytes.
func newCachedEnvBudget(t testing.TB, bytes int64) *cachedEnv {
	t.Helper()
	st := registrytest.NewStore(t, testClient, "", "configmaps")
	budget := storage.NewEncodingBudget(bytes)
	c, err := cacher.New(cacher.Config{Storage: st.Storage, Prefix: st.Prefix, NewFunc: st.Resource.New, Encodings: budget})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	st.Storage = c
	scheme, err := apis.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := apis.NewCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	return &cachedEnv{h: &Handler{Catalogue: cat, Ser: apis.NewSerializers(scheme)}, store: st, budget: budget}
}

// response is what a request got.
type response struct {
	code   int
	ct     string
	body   []byte
	header http.Header
}

// serve answers one get (name != "") or list of namespace ns. reference
// makes it the way every response was made before cached encodings: read,
// assemble, transform, encode the whole.
func (e *cachedEnv) serve(t testing.TB, name, query, accept string, reference bool) response {
	t.Helper()
	w := httptest.NewRecorder()
	e.serveTo(t, w, name, query, accept, reference)
	return response{code: w.Code, ct: w.Header().Get("Content-Type"), body: w.Body.Bytes(), header: w.Header()}
}

// serveTo is serve writing to w.
func (e *cachedEnv) serveTo(t testing.TB, w http.ResponseWriter, name, query, accept string, reference bool) {
	t.Helper()
	q := e.request(w, name, query, accept)
	verb := q.info.Verb
	var err error
	switch {
	case !reference && name != "":
		err = q.get()
	case !reference:
		err = q.list()
	default:
		err = e.referenceServe(q, name)
	}
	if err != nil {
		t.Fatalf("%s %s?%s (%s, reference %v): %v", verb, name, query, accept, reference, err)
	}
}

// request is a get (name != "") or list of namespace ns answered to w,
// with e.header added.
func (e *cachedEnv) request(w http.ResponseWriter, name, query, accept string) *req {
	verb, path := "list", "/api/v1/namespaces/ns/configmaps"
	if name != "" {
		verb, path = "get", path+"/"+name
	}
	r := httptest.NewRequest("GET", path+"?"+query, nil)
	r.Header.Set("Accept", accept)
	for k, v := range e.header {
		r.Header[k] = v
	}
	return &req{h: e.h, w: w, r: r, res: e.store.Resource, store: e.store, ns: "ns",
		info: &request.Info{IsResourceRequest: true, Verb: verb, Namespace: "ns", Name: name, Resource: "configmaps", APIVersion: "v1"}}
}

func (e *cachedEnv) referenceServe(q *req, name string) error {
	ctx := context.Background()
	var obj runtime.Object
	var err error
	if name != "" {
		var opts metav1.GetOptions
		if err := q.decodeQuery(q.r.URL.Query(), &opts); err != nil {
			return err
		}
		obj, err = e.store.Get(ctx, "ns", name, opts.ResourceVersion)
	} else {
		var opts metav1.ListOptions
		if err := q.decodeQuery(q.r.URL.Query(), &opts); err != nil {
			return err
		}
		obj, err = e.store.List(ctx, "ns", &opts)
	}
	if err != nil {
		return err
	}
	return q.write(200, obj, name == "")
}

const (
	acceptProto      = "application/vnd.kubernetes.protobuf"
	acceptTable      = "application/json;as=Table;v=v1;g=meta.k8s.io"
	acceptMetaList   = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
	acceptMetaListB1 = "application/json;as=PartialObjectMetadataList;v=v1beta1;g=meta.k8s.io"
	acceptMetaListPB = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
	acceptMeta       = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
	acceptMetaPB     = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;v=v1beta1;g=meta.k8s.io"
)

// TestCachedEncodingsAreByteIdentical serves lists and gets from the
// cached encodings and compares every response byte for byte with the
// whole-object encoding of the same read, before and after the objects
// change (a stale form would differ), for every form and the list
// options that select, page and pin versions.
func TestCachedEncodingsAreByteIdentical(t *testing.T) {
	e := newCachedEnv(t)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Namespace: "ns",
				Labels:      map[string]string{"parity": []string{"even", "odd"}[i%2]},
				Annotations: map[string]string{"html": "<a href='x'>&amp;</a>", "unicode": "héllo ☃"}},
			Data:       map[string]string{"k": strings.Repeat("v", i), "script": "</script>"},
			BinaryData: map[string][]byte{"bin": {0, 1, 2, byte(i)}},
		}
		if _, err := e.store.Create(ctx, "ns", cm, registry.WriteOptions{FieldManager: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	accepts := []string{"", "application/json", acceptProto, acceptTable, acceptMetaList, acceptMetaListB1, acceptMetaListPB, "application/yaml"}
	queries := []string{"", "labelSelector=parity%3Deven", "fieldSelector=metadata.name%3Dcm-3", "resourceVersion=0",
		"limit=3", "includeObject=Object", "includeObject=None", "pretty=true"}
	check := func(t *testing.T, name, query, accept string) {
		t.Helper()
		// Table rows carry ages that may tick between the two reads: a
		// real difference persists, a tick does not.
		var got, want response
		for try := 0; try < 3; try++ {
			want = e.serve(t, name, query, accept, true)
			got = e.serve(t, name, query, accept, false)
			if got.code == want.code && got.ct == want.ct && bytes.Equal(got.body, want.body) {
				return
			}
		}
		t.Errorf("%q ?%s Accept %q:\n got %d %s %q\nwant %d %s %q", name, query, accept, got.code, got.ct, got.body, want.code, want.ct, want.body)
	}
	round := func(t *testing.T) {
		for _, accept := range accepts {
			for _, query := range queries {
				check(t, "", query, accept)
				check(t, "", query, accept) // the second from cached forms
			}
		}
		for _, accept := range []string{"", acceptProto, acceptMeta, acceptMetaPB, acceptTable, "application/yaml"} {
			for _, query := range []string{"", "resourceVersion=0", "includeObject=Object"} {
				check(t, "cm-2", query, accept)
				check(t, "cm-2", query, accept)
			}
		}
	}
	round(t)
	if e.budget.Used() == 0 {
		t.Fatal("nothing was cached: the test did not exercise cached forms")
	}
	// Pagination: every page of both paths is the same.
	for _, accept := range []string{"", acceptProto, acceptMetaListPB} {
		cont := ""
		for page := 0; page < 10; page++ {
			q := "limit=2"
			if cont != "" {
				q += "&continue=" + url.QueryEscape(cont)
			}
			check(t, "", q, accept)
			var l metav1.List
			resp := e.serve(t, "", q, "application/json", false)
			if err := runtime.DecodeInto(e.h.Ser.JSON, resp.body, &l); err != nil {
				// ConfigMapList decodes into List's metadata as well.
				t.Fatalf("page %d: %v", page, err)
			}
			if cont = l.Continue; cont == "" {
				break
			}
		}
	}
	// Change some objects: their cached forms must not be served again.
	for _, name := range []string{"cm-2", "cm-5"} {
		_, err := e.store.Update(ctx, "ns", name, func(cur runtime.Object) (runtime.Object, error) {
			c := cur.DeepCopyObject().(*corev1.ConfigMap)
			c.Data["k"] = "changed"
			c.Labels["parity"] = "changed"
			return c, nil
		}, registry.WriteOptions{FieldManager: "test"})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.Delete(ctx, "ns", "cm-4", &metav1.DeleteOptions{}, false); err != nil {
		t.Fatal(err)
	}
	round(t)
	// An exact read of an older revision is answered by etcd, not the cache.
	old := e.serve(t, "", "", "application/json", false)
	var l metav1.List
	if err := runtime.DecodeInto(e.h.Ser.JSON, old.body, &l); err != nil {
		t.Fatal(err)
	}
	check(t, "", "resourceVersion="+l.ResourceVersion+"&resourceVersionMatch=Exact", acceptProto)
	check(t, "", "resourceVersion="+l.ResourceVersion+"&resourceVersionMatch=NotOlderThan", "")
}

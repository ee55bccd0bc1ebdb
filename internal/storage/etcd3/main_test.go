package etcd3

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kastle-dev/kastle/internal/storage"
	"github.com/kastle-dev/kastle/internal/storage/embedded"
	"github.com/kastle-dev/kastle/internal/storage/etcdtest"
)

// testClient is the client of the etcd started once for the package.
var testClient *clientv3.Client

func TestMain(m *testing.M) {
	os.Exit(etcdtest.Run(m, &testClient, func(c *embedded.Config) { c.ProgressNotifyInterval = 100 * time.Millisecond }))
}

// jsonCodec stores ConfigMaps as v1 JSON.
type jsonCodec struct {
	serializer *json.Serializer
	encoder    runtime.Encoder
}

func newCodec() jsonCodec {
	s := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, json.SerializerOptions{})
	return jsonCodec{serializer: s, encoder: scheme.Codecs.EncoderForVersion(s, corev1.SchemeGroupVersion)}
}

func (c jsonCodec) Encode(obj runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	err := c.encoder.Encode(obj, &buf)
	return buf.Bytes(), err
}

func (c jsonCodec) Decode(data []byte) (runtime.Object, error) {
	obj, _, err := c.serializer.Decode(data, nil, nil)
	return obj, err
}

func newConfigMap() runtime.Object { return &corev1.ConfigMap{} }

func newStore(opts ...Option) *Store {
	opts = append([]Option{WithNewFunc(newConfigMap), WithWaitTimeout(200 * time.Millisecond)}, opts...)
	return New(testClient, newCodec(), storage.APIObjectVersioner{}, opts...)
}

// prefixFor gives each test its own key space, emptied after the test
// (so -count=N reruns start clean). Keys that share the prefix without
// the final "/" are emptied too.
func prefixFor(t testing.TB) string {
	p := "/registry/configmaps/" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	t.Cleanup(func() {
		if _, err := testClient.Delete(context.Background(), p, clientv3.WithPrefix()); err != nil {
			t.Error(err)
		}
	})
	return p + "/"
}

func cm(name string, lbls map[string]string, data string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: lbls, UID: k8stypes.UID("uid-" + name)},
		Data:       map[string]string{"v": data},
	}
}

// cmAttrs is the AttrFunc of ConfigMaps.
func cmAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	c := obj.(*corev1.ConfigMap)
	return c.Labels, fields.Set{"metadata.name": c.Name, "metadata.namespace": c.Namespace}, nil
}

func labelPredicate(t testing.TB, sel string) storage.Predicate {
	s, err := labels.Parse(sel)
	if err != nil {
		t.Fatal(err)
	}
	return storage.Predicate{Label: s, GetAttrs: cmAttrs}
}

func rvOf(t testing.TB, obj runtime.Object) int64 {
	t.Helper()
	rv, err := storage.APIObjectVersioner{}.ObjectResourceVersion(obj)
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

func mustCreate(t testing.TB, s storage.Interface, key string, obj runtime.Object) runtime.Object {
	t.Helper()
	out, err := s.Create(context.Background(), key, obj)
	if err != nil {
		t.Fatalf("create %s: %v", key, err)
	}
	return out
}

func names(objs []runtime.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.(*corev1.ConfigMap).Name)
	}
	return out
}

func compactNow(t testing.TB) {
	t.Helper()
	resp, err := testClient.Get(context.Background(), "\x00")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testClient.Compact(context.Background(), resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
}

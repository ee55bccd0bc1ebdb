package cacher

import (
	"bytes"
	"context"
	"fmt"
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
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kastle-dev/kastle/internal/storage"
	"github.com/kastle-dev/kastle/internal/storage/etcd3"
	"github.com/kastle-dev/kastle/internal/storage/etcdtest"
)

// testClient is the client of the etcd started once for the package.
var testClient *clientv3.Client

func TestMain(m *testing.M) { os.Exit(etcdtest.Run(m, &testClient)) }

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

func newEtcdStore() *etcd3.Store {
	return etcd3.New(testClient, newCodec(), storage.APIObjectVersioner{}, etcd3.WithNewFunc(newConfigMap))
}

// prefixFor gives each test its own key space (no trailing slash),
// emptied after the test so -count=N reruns start clean.
func prefixFor(t testing.TB) string {
	p := "/registry/configmaps/" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	t.Cleanup(func() {
		if _, err := testClient.Delete(context.Background(), p, clientv3.WithPrefix()); err != nil {
			t.Error(err)
		}
	})
	return p
}

// newCacher starts a ready cache over the test's prefix.
func newCacher(t testing.TB, mutate func(*Config)) (*Cacher, *etcd3.Store) {
	t.Helper()
	s := newEtcdStore()
	cfg := Config{Storage: s, Prefix: prefixFor(t), NewFunc: newConfigMap, GetAttrs: cmAttrs}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c, s
}

func cm(name string, lbls map[string]string, data string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: lbls},
		Data:       map[string]string{"v": data},
	}
}

// keyOf is the default key layout for cm objects.
func keyOf(t testing.TB, name string) string { return prefixFor(t) + "/ns/" + name }

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

func mustCreate(t testing.TB, s storage.Interface, name string, lbls map[string]string, data string) runtime.Object {
	t.Helper()
	out, err := s.Create(context.Background(), keyOf(t, name), cm(name, lbls, data))
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return out
}

func update(t testing.TB, s storage.Interface, name, v string, lbls map[string]string) runtime.Object {
	t.Helper()
	out, err := s.GuaranteedUpdate(context.Background(), keyOf(t, name), nil, func(o runtime.Object) (runtime.Object, error) {
		c := o.(*corev1.ConfigMap)
		c.Data["v"] = v
		if lbls != nil {
			c.Labels = lbls
		}
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
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

// next returns the next event, skipping bookmarks unless asked for.
func next(t testing.TB, w storage.Watcher, bookmarks bool) storage.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch closed")
			}
			if ev.Type == storage.Bookmark && !bookmarks {
				continue
			}
			return ev
		case <-timeout:
			t.Fatal("no event within 5s")
		}
	}
}

func describe(ev storage.Event) string {
	if ev.Type == storage.ErrorEvent {
		return fmt.Sprintf("ERROR %d", storage.CodeOf(ev.Err))
	}
	c := ev.Object.(*corev1.ConfigMap)
	return fmt.Sprintf("%s %s=%s", ev.Type, c.Name, c.Data["v"])
}

func collect(t testing.TB, w storage.Watcher, n int) []string {
	t.Helper()
	var out []string
	for range n {
		out = append(out, describe(next(t, w, false)))
	}
	return out
}

// closedWithin reports whether w's channel closes within 5 s, draining it.
func closedWithin(w storage.Watcher) bool {
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-w.ResultChan():
			if !ok {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

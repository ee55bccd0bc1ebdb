package apis

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestCatalogueRows(t *testing.T) {
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Resources()) != 32 {
		t.Errorf("%d built-in resources, want 32", len(c.Resources()))
	}
	for _, r := range c.Resources() {
		if r.Virtual {
			if !scheme.Recognizes(r.GVK()) || !r.HasVerb("create") || r.HasVerb("get") {
				t.Errorf("%s: virtual review must be a create-only known kind", r)
			}
			continue
		}
		if !scheme.Recognizes(r.GVK()) || !scheme.Recognizes(r.GroupVersion().WithKind(r.ListKind)) {
			t.Errorf("%s: kind %s or %s not in the scheme", r, r.Kind, r.ListKind)
		}
		obj := r.New()
		if got := obj.GetObjectKind().GroupVersionKind(); got != r.GVK() {
			t.Errorf("%s: New() has kind %v", r, got)
		}
		if got, ok := c.Lookup(r.Group, r.Version, r.Plural); !ok || got != r {
			t.Errorf("%s: Lookup failed", r)
		}
		if r.Columns == nil || r.Row == nil {
			t.Errorf("%s: no table printer", r)
		}
	}
	if _, ok := c.Lookup("", "v1", "widgets"); ok {
		t.Error("Lookup of an unknown resource succeeded")
	}
}

func TestStorageCodecRoundTrip(t *testing.T) {
	scheme, _ := NewScheme()
	ser := NewSerializers(scheme)
	c, _ := NewCatalogue()
	cms, _ := c.Lookup("", "v1", "configmaps")
	codec := ser.StorageCodec(cms)
	in := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "n", ResourceVersion: "42"}, Data: map[string]string{"k": "v"}}
	data, err := codec.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if in.ResourceVersion != "42" {
		t.Error("Encode changed the caller's resourceVersion")
	}
	out, err := codec.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	cm := out.(*corev1.ConfigMap)
	if cm.Data["k"] != "v" || cm.ResourceVersion != "" || cm.Kind != "ConfigMap" || cm.APIVersion != "v1" {
		t.Errorf("round trip: %+v", cm)
	}
	if _, err := codec.Decode([]byte("garbage")); err == nil {
		t.Error("decoding garbage succeeded")
	}

	// Custom resources are kept as JSON.
	gvk := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	cr := &Resource{Group: "example.com", Version: "v1", Kind: "Widget", ListKind: "WidgetList", Plural: "widgets", Custom: true, StorageCodec: "json",
		New:     func() runtime.Object { u := &unstructured.Unstructured{}; u.SetGroupVersionKind(gvk); return u },
		NewList: func() runtime.Object { return &unstructured.UnstructuredList{} }}
	if err := c.SetCustom("widgets.example.com", []*Resource{cr}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Lookup("example.com", "v1", "widgets"); !ok || c.Generation() != 1 {
		t.Error("custom resource not served after SetCustom")
	}
	u := &unstructured.Unstructured{Object: map[string]interface{}{"spec": map[string]interface{}{"size": int64(3)}}}
	u.SetName("w")
	data, err = ser.StorageCodec(cr).Encode(u)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ser.StorageCodec(cr).Decode(data)
	if err != nil || back.(*unstructured.Unstructured).GetName() != "w" {
		t.Errorf("custom round trip: %v %v", back, err)
	}
	_ = c.SetCustom("widgets.example.com", nil)
	if _, ok := c.Lookup("example.com", "v1", "widgets"); ok {
		t.Error("custom resource still served after removal")
	}
}

package apis

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// BenchmarkEncodeList measures the server's cost of one list response of
// 1,000 ConfigMaps in JSON and protobuf, and of assembling the list.
func BenchmarkEncodeList(b *testing.B) {
	scheme, _ := NewScheme()
	ser := NewSerializers(scheme)
	items := make([]runtime.Object, 1000)
	for i := range items {
		cm := &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("list-%06d", i), Namespace: "loadgen-list", UID: "0b0ad2f9-0c4a-4bd4-8a3d-6f9d0d6c8a21", ResourceVersion: "12345", CreationTimestamp: metav1.NewTime(time.Now()), Labels: map[string]string{"app.kubernetes.io/managed-by": "kastle-loadgen"}},
			Data:       map[string]string{"payload": "0123456789abcdef0123456789abcdef"},
		}
		items[i] = cm
	}
	b.Run("setlist", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			l := &corev1.ConfigMapList{}
			_ = meta.SetList(l, items)
		}
	})
	l := &corev1.ConfigMapList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMapList"}}
	_ = meta.SetList(l, items)
	for _, tc := range []struct {
		name string
		enc  runtime.Encoder
	}{{"json", ser.JSON}, {"protobuf", ser.Protobuf}} {
		b.Run(tc.name, func(b *testing.B) {
			var buf bytes.Buffer
			for i := 0; i < b.N; i++ {
				buf.Reset()
				if err := tc.enc.Encode(l, &buf); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
	}
}

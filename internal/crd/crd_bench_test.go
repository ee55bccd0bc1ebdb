package crd

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

const benchObj = `{apiVersion: example.com/v1, kind: Widget,
metadata: {name: w, namespace: ns, creationTimestamp: "2024-01-01T00:00:00Z", labels: {a: b}},
spec: {size: 3, color: red, name: abc, port: 80, tags: [a, b], bogus: 1,
  ports: [{name: a}, {name: b, protocol: UDP}], labels: {x: {value: v}},
  config: {known: {a: x}, free: {deep: [1, 2, 3]}}},
status: {replicas: 2, selector: "app=w", ready: true}}`

func BenchmarkPruneDefaultValidate(b *testing.B) {
	s := mustSchema(b)
	src := mustObj(b, benchObj)
	b.ReportAllocs()
	for b.Loop() {
		obj := runtime.DeepCopyJSON(src)
		s.Prune(obj)
		s.Default(obj)
		if errs := s.Validate(obj); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	s := mustSchema(b)
	obj := mustObj(b, benchObj)
	s.Prune(obj)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Validate(obj)
	}
}

func BenchmarkRow(b *testing.B) {
	s := mustSchema(b)
	u := &unstructured.Unstructured{Object: mustObj(b, benchObj)}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.RowAt(u, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	crd := mustCRD(b, widgetCRD)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(crd, "v1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPruneDefault(b *testing.B) {
	s := mustSchema(b)
	src := mustObj(b, benchObj)
	b.ReportAllocs()
	for b.Loop() {
		obj := runtime.DeepCopyJSON(src)
		s.Prune(obj)
		s.Default(obj)
	}
}

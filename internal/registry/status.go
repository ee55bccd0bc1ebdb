package registry

import (
	"reflect"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apis"
)

// The status subresource splits an object in two owners: writes to the
// main resource keep the stored status, writes to status keep everything
// else. Typed objects are split by their Status field, custom resources by
// their top-level status key.

func statusField(obj runtime.Object) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName("Status")
}

func clearStatus(obj runtime.Object, r *apis.Resource) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		delete(u.Object, r.StatusField)
		return
	}
	if f := statusField(obj); f.IsValid() && f.CanSet() {
		f.Set(reflect.Zero(f.Type()))
	}
}

// copyStatus sets obj's status to src's.
func copyStatus(obj, src runtime.Object, r *apis.Resource) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		s := src.(*unstructured.Unstructured)
		if v, ok := s.Object[r.StatusField]; ok {
			u.Object[r.StatusField] = runtime.DeepCopyJSONValue(v)
		} else {
			delete(u.Object, r.StatusField)
		}
		return
	}
	dst, from := statusField(obj), statusField(src)
	if dst.IsValid() && from.IsValid() && dst.CanSet() {
		dst.Set(from)
	}
}

// withStatusOf returns a copy of cur carrying the status of requested:
// a status write changes neither spec nor metadata, except labels and
// annotations where the resource allows it.
func withStatusOf(cur, requested runtime.Object, r *apis.Resource) runtime.Object {
	out := cur.DeepCopyObject()
	copyStatus(out, requested, r)
	if r.StatusWritesMetadata {
		dst, err1 := meta.Accessor(out)
		src, err2 := meta.Accessor(requested)
		if err1 == nil && err2 == nil {
			dst.SetLabels(src.GetLabels())
			dst.SetAnnotations(src.GetAnnotations())
		}
	}
	return out
}

// withConditionsOf applies a CSR approval: only status.conditions change.
func withConditionsOf(cur, requested runtime.Object) runtime.Object {
	out := cur.DeepCopyObject()
	o, ok1 := out.(*certificatesv1.CertificateSigningRequest)
	n, ok2 := requested.(*certificatesv1.CertificateSigningRequest)
	if ok1 && ok2 {
		o.Status.Conditions = n.Status.Conditions
		// As status writes, approval writes may change labels and
		// annotations (upstream's approval strategy resets the spec).
		o.Labels, o.Annotations = n.Labels, n.Annotations
	}
	return out
}

// withFinalizersOf returns cur with the namespace finalizers (spec) of
// requested: all a write to namespaces/finalize may change.
func withFinalizersOf(cur, requested runtime.Object) runtime.Object {
	out := cur.DeepCopyObject()
	o, ok1 := out.(*corev1.Namespace)
	n, ok2 := requested.(*corev1.Namespace)
	if ok1 && ok2 {
		o.Spec.Finalizers = n.Spec.Finalizers
	}
	return out
}

// specOf returns the part of a typed object that drives generation:
// everything but TypeMeta, ObjectMeta and Status.
func specOf(obj runtime.Object) []interface{} {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	v = v.Elem()
	var out []interface{}
	for i := 0; i < v.NumField(); i++ {
		switch v.Type().Field(i).Name {
		case "TypeMeta", "ObjectMeta", "Status":
			continue
		}
		out = append(out, v.Field(i).Interface())
	}
	return out
}

// namespaceKeeps reports whether a namespace still has spec finalizers
// (its content is being removed).
func namespaceKeeps(obj runtime.Object) bool {
	ns, ok := obj.(*corev1.Namespace)
	return ok && len(ns.Spec.Finalizers) > 0
}

// markTerminating moves a namespace being deleted to phase Terminating.
func markTerminating(obj runtime.Object) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		ns.Status.Phase = corev1.NamespaceTerminating
	}
}

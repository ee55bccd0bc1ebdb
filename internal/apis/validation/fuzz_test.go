package validation_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/apis/defaults"
	"github.com/kastle-dev/kastle/internal/apis/printers"
	"github.com/kastle-dev/kastle/internal/apis/validation"
	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fuzzKinds lists every served built-in kind with a constructor, indexed
// by the fuzzer's first argument.
func fuzzKinds() []struct {
	gk  schema.GroupKind
	new func() runtime.Object
} {
	return []struct {
		gk  schema.GroupKind
		new func() runtime.Object
	}{
		{schema.GroupKind{Kind: "Namespace"}, func() runtime.Object { return &corev1.Namespace{} }},
		{schema.GroupKind{Kind: "ConfigMap"}, func() runtime.Object { return &corev1.ConfigMap{} }},
		{schema.GroupKind{Kind: "Secret"}, func() runtime.Object { return &corev1.Secret{} }},
		{schema.GroupKind{Kind: "ServiceAccount"}, func() runtime.Object { return &corev1.ServiceAccount{} }},
		{schema.GroupKind{Kind: "Node"}, func() runtime.Object { return &corev1.Node{} }},
		{schema.GroupKind{Kind: "Pod"}, func() runtime.Object { return &corev1.Pod{} }},
		{schema.GroupKind{Kind: "Service"}, func() runtime.Object { return &corev1.Service{} }},
		{schema.GroupKind{Kind: "Endpoints"}, func() runtime.Object { return &corev1.Endpoints{} }},
		{schema.GroupKind{Kind: "Event"}, func() runtime.Object { return &corev1.Event{} }},
		{schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, func() runtime.Object { return &eventsv1.Event{} }},
		{schema.GroupKind{Group: "apps", Kind: "Deployment"}, func() runtime.Object { return &appsv1.Deployment{} }},
		{schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, func() runtime.Object { return &appsv1.ReplicaSet{} }},
		{schema.GroupKind{Group: "apps", Kind: "StatefulSet"}, func() runtime.Object { return &appsv1.StatefulSet{} }},
		{schema.GroupKind{Group: "apps", Kind: "DaemonSet"}, func() runtime.Object { return &appsv1.DaemonSet{} }},
		{schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, func() runtime.Object { return &coordinationv1.Lease{} }},
		{schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "Role"}, func() runtime.Object { return &rbacv1.Role{} }},
		{schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}, func() runtime.Object { return &rbacv1.ClusterRole{} }},
		{schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}, func() runtime.Object { return &rbacv1.RoleBinding{} }},
		{schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}, func() runtime.Object { return &rbacv1.ClusterRoleBinding{} }},
		{schema.GroupKind{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}, func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} }},
		{schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}, func() runtime.Object { return &apiextensionsv1.CustomResourceDefinition{} }},
	}
}

// FuzzBuiltins decodes arbitrary JSON into each built-in type and runs it
// through defaulting, validation (create, update against itself and against
// an empty object, status update) and the table printer: none may panic.
func FuzzBuiltins(f *testing.F) {
	f.Add(uint8(1), []byte(`{"metadata":{"name":"cm"},"data":{"a":"b"},"binaryData":{"a":"YQ=="}}`))
	f.Add(uint8(5), []byte(`{"spec":{"containers":[{"name":"a","ports":[{}]}],"initContainers":[{"restartPolicy":"Always"}]},"status":{"initContainerStatuses":[{"name":"x"}]}}`))
	kinds := append(fuzzKinds(), moreFuzzKinds()...)
	f.Add(uint8(len(fuzzKinds())+1), []byte(`{"spec":{"rules":[{"http":{"paths":[{"backend":{}}]}}],"defaultBackend":{"resource":{}}}}`))
	f.Add(uint8(len(fuzzKinds())+12), []byte(`{"spec":{"type":"Limited","limited":{"limitResponse":{"type":"Queue","queuing":{"queues":0}}},"exempt":{}}}`))
	f.Add(uint8(len(fuzzKinds())+11), []byte(`{"spec":{"rules":[{"subjects":[{"kind":"User"},{"kind":"ServiceAccount"}],"resourceRules":[{}]}]}}`))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		k := kinds[int(kind)%len(kinds)]
		obj := k.new()
		if err := json.Unmarshal(data, obj); err != nil {
			return
		}
		raw := obj.DeepCopyObject()
		defaults.Default(obj)
		_ = validation.Validate(obj)
		_ = validation.Validate(raw)
		_ = validation.ValidateUpdate(obj, raw)
		_ = validation.ValidateUpdate(obj, k.new())
		_ = validation.ValidateUpdate(k.new(), obj)
		_ = validation.ValidateStatusUpdate(obj, raw)
		_ = validation.ValidateStatusUpdate(k.new(), obj)
		p, ok := printers.For(k.gk)
		if !ok {
			t.Fatalf("no printer for %v", k.gk)
		}
		for _, o := range []runtime.Object{obj, raw} {
			cells, err := p.Row(o, now)
			if err != nil {
				t.Fatalf("Row: %v", err)
			}
			if len(cells) != len(p.Columns) {
				t.Fatalf("%v: %d cells for %d columns", k.gk, len(cells), len(p.Columns))
			}
		}
		if _, err := printers.Default().Row(obj, now); err != nil {
			t.Fatalf("Default Row: %v", err)
		}
	})
}

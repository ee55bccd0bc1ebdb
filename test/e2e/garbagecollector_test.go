package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestGarbageCollectorForeground: a foreground deletion waits only for
// dependents whose reference blocks the owner, and a circle of blocking
// references (A owns B owns C owns A) does not hang it, as upstream.
func TestGarbageCollectorForeground(t *testing.T) {
	s := env.shared
	cs := s.clientset(t)
	ctx := context.Background()
	ns := s.namespace(t)
	cms := cs.CoreV1().ConfigMaps(ns)
	mk := func(name string) *corev1.ConfigMap {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm
	}
	own := func(dep string, owner *corev1.ConfigMap, block bool) {
		patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":%q,"uid":%q,"blockOwnerDeletion":%v}]}}`,
			owner.Name, owner.UID, block)
		if _, err := cms.Patch(ctx, dep, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(names ...string) func() string {
		return func() string {
			for _, n := range names {
				if _, err := cms.Get(ctx, n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					return n + " still exists"
				}
			}
			return ""
		}
	}
	fg := metav1.DeletePropagationForeground

	a, b, c := mk("a"), mk("b"), mk("c")
	own("a", c, true)
	own("b", a, true)
	own("c", b, true)
	if err := cms.Delete(ctx, "a", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, gone("a", "b", "c"))

	// A dependent with a finalizer of its own and no blocking reference
	// does not hold its owner back.
	owner := mk("owner")
	mk("held")
	if _, err := cms.Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":["example.com/hold"]}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	own("held", owner, false)
	if err := cms.Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, gone("owner"))
	held, err := cms.Get(ctx, "held", metav1.GetOptions{})
	if err != nil || held.DeletionTimestamp == nil {
		t.Fatalf("the dependent should be deleting, held by its finalizer: %v %v", held, err)
	}
	if _, err := cms.Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, gone("held"))
}

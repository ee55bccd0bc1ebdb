package garbagecollector

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/registry/registrytest"
	"github.com/kastle-dev/kastle/internal/storage/etcdtest"
)

var testClient *clientv3.Client

func TestMain(m *testing.M) { os.Exit(etcdtest.Run(m, &testClient)) }

type oneStore struct{ st *registry.Store }

func (o oneStore) Store(*apis.Resource) (*registry.Store, bool) { return o.st, true }

// setup returns a ConfigMap store wired to a running collector.
func setup(t *testing.T) *registry.Store {
	st := registrytest.NewStore(t, testClient, "", "configmaps")
	gc := New(oneStore{st}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	gc.retry = 50 * time.Millisecond
	st.Observer = gc
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go gc.Run(ctx)
	return st
}

func create(t *testing.T, st *registry.Store, name string, owner *corev1.ConfigMap) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if owner != nil {
		cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}
	}
	out, err := st.Create(context.Background(), "ns", cm, registry.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out.(*corev1.ConfigMap)
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func gone(st *registry.Store, name string) func() bool {
	return func() bool {
		_, err := st.Get(context.Background(), "ns", name, "")
		return apierrors.IsNotFound(err)
	}
}

func TestPropagation(t *testing.T) {
	ctx := context.Background()
	for _, policy := range []metav1.DeletionPropagation{metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan} {
		t.Run(string(policy), func(t *testing.T) {
			st := setup(t)
			owner := create(t, st, "owner", nil)
			child := create(t, st, "child", owner)
			create(t, st, "grandchild", child)
			create(t, st, "stranger", nil)
			res, err := st.Delete(ctx, "ns", "owner", &metav1.DeleteOptions{PropagationPolicy: &policy}, false)
			if err != nil {
				t.Fatal(err)
			}
			if wantImmediate := policy == metav1.DeletePropagationBackground; res.Immediate != wantImmediate {
				t.Errorf("immediate = %v, want %v", res.Immediate, wantImmediate)
			}
			eventually(t, "owner gone", gone(st, "owner"))
			if policy == metav1.DeletePropagationOrphan {
				o, err := st.Get(ctx, "ns", "child", "")
				if err != nil {
					t.Fatalf("orphaned child deleted: %v", err)
				}
				if refs := o.(*corev1.ConfigMap).OwnerReferences; len(refs) != 0 {
					t.Errorf("orphaned child keeps owner references %v", refs)
				}
			} else {
				eventually(t, "child gone", gone(st, "child"))
				eventually(t, "grandchild gone", gone(st, "grandchild"))
			}
			if _, err := st.Get(ctx, "ns", "stranger", ""); err != nil {
				t.Errorf("unrelated object: %v", err)
			}
		})
	}
}

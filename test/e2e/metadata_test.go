package e2e

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
)

// TestMetadataWatch: client-go's metadata client (what metadata informers
// and the garbage collector use) watches in the PartialObjectMetadata
// form, each event's object decoded as metadata only.
func TestMetadataWatch(t *testing.T) {
	s := env.shared
	ns := s.namespace(t)
	mc, err := metadata.NewForConfig(s.restConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cms := mc.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	s.mustKubectl(t, "create", "configmap", "watched", "-n", ns, "--from-literal=k=v")
	for {
		select {
		case <-ctx.Done():
			t.Fatal("no event for the new ConfigMap")
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch ended")
			}
			if ev.Type == watch.Error {
				t.Fatalf("watch error: %v", ev.Object)
			}
			pm, isMeta := ev.Object.(*metav1.PartialObjectMetadata)
			if !isMeta {
				t.Fatalf("event object %T, want *v1.PartialObjectMetadata", ev.Object)
			}
			if ev.Type == watch.Added && pm.Name == "watched" {
				if pm.UID == "" || pm.ResourceVersion == "" {
					t.Errorf("metadata without uid or resourceVersion: %+v", pm.ObjectMeta)
				}
				return
			}
		}
	}
}

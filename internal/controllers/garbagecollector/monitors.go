package garbagecollector

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// monitors runs one metadata informer per watched resource.
type monitors struct {
	meta    metadata.Interface
	handler func(schema.GroupVersionResource) cache.ResourceEventHandler

	mu      sync.Mutex
	running map[schema.GroupVersionResource]*monitor
}

type monitor struct {
	inf  cache.SharedIndexInformer
	stop func()
}

// ignored are resources the collector does not follow, as upstream:
// events are many, short-lived, and never owners.
var ignored = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

// deletableResources returns the preferred version of every resource that
// can be listed, watched and deleted. A discovery failure of some groups
// still returns the others with the error.
func deletableResources(ctx context.Context, d discovery.DiscoveryInterface) (map[schema.GroupVersionResource]bool, error) {
	lists, err := discovery.ServerPreferredResourcesWithContext(ctx, discovery.ToDiscoveryInterfaceWithContext(d))
	if len(lists) == 0 && err != nil {
		return nil, err
	}
	lists = discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"delete", "list", "watch"}}, lists)
	gvrs, perr := discovery.GroupVersionResources(lists)
	if perr != nil && err == nil {
		err = perr
	}
	out := make(map[schema.GroupVersionResource]bool, len(gvrs))
	for gvr := range gvrs {
		if !ignored[gvr.GroupResource()] {
			out[gvr] = true
		}
	}
	return out, err
}

// sync starts informers for resources in want that have none and stops
// those of resources no longer served; it reports whether anything
// changed.
func (m *monitors) sync(ctx context.Context, want map[schema.GroupVersionResource]bool, partial bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	changed := false
	for gvr, mon := range m.running {
		// After a partial discovery, keep what may only be unreachable.
		if !want[gvr] && !partial {
			mon.stop()
			delete(m.running, gvr)
			changed = true
		}
	}
	for gvr := range want {
		if _, ok := m.running[gvr]; ok {
			continue
		}
		inf := metadatainformer.NewFilteredMetadataInformer(m.meta, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		// Keep only what the graph reads: the cache then costs little
		// more per object than the graph itself.
		_ = inf.SetTransform(slim)
		if _, err := inf.AddEventHandler(m.handler(gvr)); err != nil {
			continue
		}
		mctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); inf.RunWithContext(mctx) }()
		// Stopping waits for the informer, so nothing outlives the collector.
		m.running[gvr] = &monitor{inf: inf, stop: func() { cancel(); <-done }}
		changed = true
	}
	return changed
}

// synced reports whether every informer has listed its resource.
func (m *monitors) synced() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mon := range m.running {
		if !mon.inf.HasSynced() {
			return false
		}
	}
	return true
}

func (m *monitors) stopAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for gvr, mon := range m.running {
		mon.stop()
		delete(m.running, gvr)
	}
}

// slim drops the metadata the collector never reads (labels,
// annotations, managed fields, ...).
func slim(obj interface{}) (interface{}, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		DeletionTimestamp: m.DeletionTimestamp, Finalizers: m.Finalizers, OwnerReferences: m.OwnerReferences,
	}}, nil
}

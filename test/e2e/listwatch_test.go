//go:build !e2e_informer

package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// startWatcher stands in for a client-go informer until go.mod lets the
// package import k8s.io/client-go/tools/cache (see informer_test.go): a
// list-then-watch loop that, like the reflector, rewatches from the last
// resourceVersion it saw when a watch ends, relists when that version is
// gone (410) or the server is unreachable, and turns objects missing from
// a relist into deletes. It feeds tr until the test ends and returns after
// the first list.
func startWatcher(t *testing.T, cs kubernetes.Interface, ns string, tr *tracker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	synced := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	go func() {
		defer close(stopped)
		listWatch(ctx, cs.CoreV1().ConfigMaps(ns), tr, synced)
	}()
	select {
	case <-synced:
	case <-time.After(30 * time.Second):
		t.Fatal("first list did not succeed within 30s")
	}
}

// configMapLister is the part of the typed client the loop uses.
type configMapLister interface {
	List(ctx context.Context, opts metav1.ListOptions) (*corev1.ConfigMapList, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

func listWatch(ctx context.Context, c configMapLister, tr *tracker, synced chan struct{}) {
	pause := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
			return true
		}
	}
	for ctx.Err() == nil {
		list, err := c.List(ctx, metav1.ListOptions{})
		if err != nil {
			pause()
			continue
		}
		replace(tr, list.Items)
		if synced != nil {
			close(synced)
			synced = nil
		}
		rv := list.ResourceVersion
		// Rewatch from rv until the server says it is too old or a watch
		// cannot be opened at all; then relist.
		for ctx.Err() == nil {
			w, err := c.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
			if err != nil {
				break
			}
			var expired bool
			rv, expired = drain(w, tr, rv)
			w.Stop()
			if expired || !pause() {
				break
			}
		}
	}
}

// drain applies one watch's events to tr and returns the last
// resourceVersion seen and whether the watch ended with 410 Gone.
func drain(w watch.Interface, tr *tracker, rv string) (string, bool) {
	for ev := range w.ResultChan() {
		switch ev.Type {
		case watch.Added, watch.Modified:
			cm := ev.Object.(*corev1.ConfigMap)
			tr.set(cm)
			rv = cm.ResourceVersion
		case watch.Deleted:
			cm := ev.Object.(*corev1.ConfigMap)
			tr.del(cm.Name)
			rv = cm.ResourceVersion
		case watch.Bookmark:
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok {
				rv = cm.ResourceVersion
			}
		case watch.Error:
			err := apierrors.FromObject(ev.Object)
			return rv, apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
		}
	}
	return rv, false
}

// replace makes tr match a fresh list, reporting objects that vanished
// while no watch was open as deletes, as the reflector's relist does.
func replace(tr *tracker, items []corev1.ConfigMap) {
	present := make(map[string]bool, len(items))
	for i := range items {
		present[items[i].Name] = true
		tr.set(&items[i])
	}
	tr.mu.Lock()
	var gone []string
	for name := range tr.live {
		if !present[name] {
			gone = append(gone, name)
		}
	}
	tr.mu.Unlock()
	for _, name := range gone {
		tr.del(name)
	}
}

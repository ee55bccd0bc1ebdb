package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// startWatcher runs a client-go ConfigMap informer on ns, feeding tr,
// until the test ends, and waits for its first sync. Its reflector does
// the relisting and rewatching the restart test relies on.
func startWatcher(t *testing.T, cs kubernetes.Interface, ns string, tr *tracker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := f.Core().V1().ConfigMaps().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { tr.set(obj.(*corev1.ConfigMap)) },
		UpdateFunc: func(_, obj any) { tr.set(obj.(*corev1.ConfigMap)) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			tr.del(obj.(*corev1.ConfigMap).Name)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Log why the reflector had to relist or rewatch: on a failure this
	// tells a server that drops watches from one that answers 410 Gone.
	if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		t.Logf("%s informer: watch error: %v", time.Now().Format(time.TimeOnly), err)
	}); err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	t.Cleanup(func() {
		cancel() // Shutdown waits for the informers, which stop on ctx
		f.Shutdown()
	})
	syncCtx, done := context.WithTimeout(ctx, 30*time.Second)
	defer done()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync within 30s")
	}
}

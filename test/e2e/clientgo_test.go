package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// churn creates n ConfigMaps, updates each once and deletes every other
// one, with workers in parallel; every call is retried until acknowledged
// so it works across a server restart. afterEach is called after each
// acknowledged object. It returns the expected live state and the deleted names.
func churn(ctx context.Context, cs kubernetes.Interface, ns, prefix string, n, workers int, afterEach func(done int)) (map[string]string, []string, error) {
	var (
		next, done atomic.Int64
		mu         sync.Mutex
		firstErr   error
		want       = map[string]string{}
		deleted    []string
		wg         sync.WaitGroup
	)
	cms := cs.CoreV1().ConfigMaps(ns)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				name := fmt.Sprintf("%s-%04d", prefix, i)
				err := retry(ctx, func(ctx context.Context) error {
					_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
					if apierrors.IsAlreadyExists(err) {
						return nil // an earlier attempt went through before the connection broke
					}
					return err
				})
				if err == nil {
					err = retry(ctx, func(ctx context.Context) error {
						_, err := cms.Patch(ctx, name, types.MergePatchType, []byte(`{"data":{"v":"2"}}`), metav1.PatchOptions{})
						return err
					})
				}
				del := i%2 == 0
				if err == nil && del {
					err = retry(ctx, func(ctx context.Context) error {
						err := cms.Delete(ctx, name, metav1.DeleteOptions{})
						if apierrors.IsNotFound(err) {
							return nil
						}
						return err
					})
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", name, err)
				}
				if del {
					deleted = append(deleted, name)
				} else {
					want[name] = "2"
				}
				mu.Unlock()
				if afterEach != nil {
					afterEach(int(done.Add(1)))
				}
			}
		}()
	}
	wg.Wait()
	return want, deleted, firstErr
}

// retry calls f until it succeeds, fails with an API error that is not a
// transient one, or ctx ends.
func retry(ctx context.Context, f func(context.Context) error) error {
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		var status apierrors.APIStatus
		if errors.As(err, &status) && !apierrors.IsServiceUnavailable(err) && !apierrors.IsTooManyRequests(err) &&
			!apierrors.IsServerTimeout(err) && !apierrors.IsTimeout(err) && !apierrors.IsInternalError(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestInformerChurn runs an informer while 1,000 ConfigMaps are created,
// updated and half of them deleted concurrently: it must end with every
// object's final state and see each delete exactly once.
func TestInformerChurn(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	cs := env.shared.clientset(t)
	tr := newTracker()
	startWatcher(t, cs, ns, tr)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	want, deleted, err := churn(ctx, cs, ns, "churn", 1000, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func() string { return tr.diff(want, deleted, false) })
	listMatches(t, cs, ns, want)
}

// listMatches checks the server's own list against the expected state, so
// a test never passes on an informer that agrees with a wrong server.
func listMatches(t *testing.T, cs kubernetes.Interface, ns string, want map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, cm := range list.Items {
		if cm.Name != rootCAConfigMap {
			got[cm.Name] = cm.Data["v"]
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("server lists %d objects, want %d", len(got), len(want))
	}
}

// TestInformerSurvivesRestart restarts the server (SIGTERM, same data dir,
// same port) in the middle of a churn: the informer's reflector must
// relist and rewatch and converge on the true state without losing or
// duplicating a delete.
func TestInformerSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	ns := s.namespace(t)
	cs := s.clientset(t)
	tr := newTracker()
	startWatcher(t, cs, ns, tr)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 300
	restarted := make(chan *server, 1)
	restartAt := make(chan struct{})
	var once sync.Once
	go func() {
		select {
		case <-restartAt:
		case <-ctx.Done():
			return
		}
		if err := s.stop(syscall.SIGTERM); err != nil {
			t.Error(err)
		}
		s2, err := launch(s.dataDir, s.port)
		if err != nil {
			t.Error(err)
			cancel()
			return
		}
		restarted <- s2
	}()
	want, deleted, err := churn(ctx, cs, ns, "restart", n, 4, func(done int) {
		if done >= n/3 {
			once.Do(func() { close(restartAt) })
		}
	})
	var s2 *server
	select {
	case s2 = <-restarted:
	case <-ctx.Done():
		t.Fatal("server was not restarted")
	}
	t.Cleanup(func() {
		if err := s2.stop(syscall.SIGTERM); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("restarted server log:\n%s", s2.log.tail(32<<10))
		}
	})
	if s2.port != s.port {
		t.Fatalf("restarted on port %d, want %d", s2.port, s.port)
	}
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func() string { return tr.diff(want, deleted, true) })
	tr.mu.Lock()
	seen := len(tr.seen)
	tr.mu.Unlock()
	t.Logf("the watcher saw %d of %d objects; the rest lived and died while it relisted", seen, n)
	listMatches(t, cs, ns, want)
}

// TestPersistenceAfterKill writes 200 objects, kills the server with
// SIGKILL and checks every acknowledged write survived.
func TestPersistenceAfterKill(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	ns := s.namespace(t)
	cs := s.clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	want := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 200; i += 8 {
				name, v := fmt.Sprintf("keep-%03d", i), fmt.Sprintf("value-%d", i*i)
				_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"batch": "persist"}},
					Data:       map[string]string{"v": v},
				}, metav1.CreateOptions{})
				if err != nil {
					errs <- fmt.Errorf("create %s: %w", name, err)
					return
				}
				mu.Lock()
				want[name] = v
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	s2 := s.restart(t, syscall.SIGKILL)
	cs2 := s2.clientset(t)
	listMatches(t, cs2, ns, want)
	out := s2.mustKubectl(t, "get", "cm", "-n", ns, "-l", "batch=persist", "-o", "name")
	if n := len(strings.Fields(out)); n != 200 {
		t.Errorf("kubectl lists %d objects after the restart, want 200", n)
	}
	// The restarted server keeps working: writes and a watch from now on.
	s2.mustKubectl(t, "create", "cm", "after-restart", "-n", ns)
}

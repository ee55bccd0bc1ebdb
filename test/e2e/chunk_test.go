package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestChunkedList lists 1,100 ConfigMaps with kubectl --chunk-size=100 and
// checks every object arrives exactly once across the continue tokens.
func TestChunkedList(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	cs := env.shared.clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 1100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("chunk-%04d", i)},
					Data:       map[string]string{"i": fmt.Sprint(i)},
				}, metav1.CreateOptions{})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	r := kubectl(t, "get", "cm", "-n", ns, "--chunk-size=100", "-o", "name", "-v=6")
	if r.code != 0 {
		t.Fatalf("kubectl get --chunk-size=100: exit %d: %.2000s", r.code, r.stderr)
	}
	seen := map[string]int{}
	for _, name := range strings.Fields(r.stdout) {
		if strings.HasPrefix(name, "configmap/chunk-") {
			seen[name]++
		}
	}
	if len(seen) != n {
		t.Errorf("kubectl listed %d distinct chunk-* ConfigMaps, want %d", len(seen), n)
	}
	for name, c := range seen {
		if c != 1 {
			t.Errorf("%s listed %d times", name, c)
		}
	}
	// The list really came in pages: one request per 100 objects, each
	// after the first carrying the previous page's continue token.
	var pages, continued int
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, "/configmaps?") && strings.Contains(line, "limit=100") && strings.Contains(line, " 200 OK") {
			pages++
			if strings.Contains(line, "continue=") {
				continued++
			}
		}
	}
	if pages < n/100 || continued != pages-1 {
		t.Errorf("kubectl made %d paged requests (%d with continue), want at least %d with all but the first continued:\n%.3000s",
			pages, continued, n/100, r.stderr)
	}
}

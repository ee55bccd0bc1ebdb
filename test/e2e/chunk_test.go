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

	// Unpaged, the list is over 128 KiB: as kube-apiserver, kastle gzips it
	// for a client that accepts gzip (curl --compressed; client-go asks by
	// itself and decompresses transparently) and not for one that does not.
	creds := extractAdmin(t, env.shared)
	path := "/api/v1/namespaces/" + ns + "/configmaps?labelSelector=" // no selector: the whole list
	plain := curl(t, env.shared, &creds, path, "-D", "-")
	zipped := curl(t, env.shared, &creds, path, "-D", "-", "--compressed")
	if plain.status != 200 || zipped.status != 200 {
		t.Fatalf("curl list: %d and %d", plain.status, zipped.status)
	}
	head := func(r curlResult) (string, string) {
		h, body, _ := strings.Cut(r.body, "\r\n\r\n")
		return strings.ToLower(h), body
	}
	ph, pbody := head(plain)
	zh, zbody := head(zipped)
	if strings.Contains(ph, "content-encoding") || !strings.Contains(zh, "content-encoding: gzip") || !strings.Contains(zh, "vary: accept-encoding") {
		t.Errorf("headers without gzip:\n%s\nwith --compressed:\n%s", ph, zh)
	}
	if len(pbody) < 128<<10 || len(zbody) != len(pbody) {
		t.Errorf("plain body %d bytes, decompressed body %d bytes; want the same, over 128 KiB", len(pbody), len(zbody))
	}
	if n := strings.Count(zbody, `"name":"chunk-`); n != 1100 {
		t.Errorf("the decompressed list has %d chunk-* items, want 1100", n)
	}
	if r := kubectl(t, "get", "cm", "-n", ns, "--chunk-size=0", "-o", "name"); r.code != 0 || strings.Count(r.stdout, "configmap/chunk-") != n {
		t.Errorf("kubectl get --chunk-size=0: exit %d, %d chunk-* names: %.500s", r.code, strings.Count(r.stdout, "configmap/chunk-"), r.stderr)
	}
}

package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kastle-dev/kastle/internal/agent"
)

// BenchmarkAgentJoin measures a fleet joining: 50 agents in this process
// (distinct node names and data dirs, no HTTPS API) start together with
// one bootstrap token against a fresh server; each bootstraps its client
// certificate (CSR auto-approved and signed), registers its Node and
// reports Ready. It reports the time until all 50 Nodes are Ready and the
// p50 and p99 of the per-node time from start to Ready. Run it with
//
//	go test ./test/e2e -run '^$' -bench AgentJoin -benchtime 1x
func BenchmarkAgentJoin(b *testing.B) {
	const n = 50
	ctx := context.Background()
	for iter := 0; iter < b.N; iter++ {
		b.StopTimer()
		s, err := launch(filepath.Join(b.TempDir(), fmt.Sprint("data", iter)), 0)
		if err != nil {
			b.Fatal(err)
		}
		admin := s.clientset(b)
		tok := agentToken(b, ctx, admin)
		base := b.TempDir()
		cfgs := make([]*agent.Config, n)
		for i := range cfgs {
			dir := filepath.Join(base, fmt.Sprintf("sim-%02d", i))
			writeAgentBootstrapKubeconfig(b, s, dir, tok)
			cfgs[i] = &agent.Config{DataDir: dir, NodeName: fmt.Sprintf("sim-%02d", i), NodeIP: "127.0.0.1",
				RotateCertificates: true, DisableServer: true}
			if err := cfgs[i].Complete(nil); err != nil {
				b.Fatal(err)
			}
		}
		list, err := admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		w, err := admin.CoreV1().Nodes().Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			b.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		actx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		var mu sync.Mutex
		started := map[string]time.Time{}
		agents := make([]*agent.Agent, n)

		b.StartTimer()
		start := time.Now()
		for i, cfg := range cfgs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mu.Lock()
				started[cfg.NodeName] = time.Now()
				mu.Unlock()
				a, err := agent.Start(actx, cfg, log)
				if err != nil {
					errs <- err
					return
				}
				agents[i] = a
			}()
		}
		ready := map[string]time.Duration{}
		timeout := time.After(2 * time.Minute)
		for len(ready) < n {
			select {
			case err := <-errs:
				b.Fatal(err)
			case ev, ok := <-w.ResultChan():
				if !ok {
					b.Fatal("node watch closed")
				}
				node, isNode := ev.Object.(*corev1.Node)
				if !isNode || ev.Type == watch.Deleted || ready[node.Name] != 0 {
					continue
				}
				for _, c := range node.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
						mu.Lock()
						ready[node.Name] = time.Since(started[node.Name])
						mu.Unlock()
					}
				}
			case <-timeout:
				b.Fatalf("only %d of %d nodes Ready", len(ready), n)
			}
		}
		total := time.Since(start)
		b.StopTimer()
		w.Stop()
		wg.Wait()
		cancel()
		for _, a := range agents {
			if a != nil {
				_ = a.Wait()
			}
		}
		_ = s.stop(syscall.SIGTERM)
		per := make([]time.Duration, 0, n)
		for _, d := range ready {
			per = append(per, d)
		}
		slices.Sort(per)
		pct := func(p float64) time.Duration { return per[min(len(per)-1, int(float64(len(per))*p+0.5)-1)] }
		b.ReportMetric(total.Seconds(), "total-s")
		b.ReportMetric(pct(0.50).Seconds()*1000, "p50-node-ms")
		b.ReportMetric(pct(0.99).Seconds()*1000, "p99-node-ms")
		b.ReportMetric(float64(n)/total.Seconds(), "nodes/s")
	}
}

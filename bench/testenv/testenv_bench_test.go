package testenvbench

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kastle-dev/kastle/pkg/testenv"
)

// startStop times each Start (to ready: CRDs none, so the API server
// serving) over b.N iterations and reports the median and p90 besides
// the mean.
func startStop(b *testing.B, start func() (stop func() error, err error)) {
	b.Helper()
	var d []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		stop, err := start()
		el := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		d = append(d, el)
		if err := stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	reportPercentiles(b, d)
}

func reportPercentiles(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	at := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.5), "ms-p50")
	b.ReportMetric(at(0.9), "ms-p90")
	b.ReportMetric(at(1), "ms-max")
}

// BenchmarkTestenvStartCold starts on a fresh temporary data dir each
// time: new CAs and certificates, a new etcd.
func BenchmarkTestenvStartCold(b *testing.B) {
	startStop(b, func() (func() error, error) {
		env, err := testenv.Start(context.Background(), testenv.Options{})
		if err != nil {
			return nil, err
		}
		return env.Stop, nil
	})
}

// BenchmarkTestenvStartWarm starts again and again on one data dir, as
// a suite that keeps Options.DataDir between runs does.
func BenchmarkTestenvStartWarm(b *testing.B) {
	dir := b.TempDir()
	env, err := testenv.Start(context.Background(), testenv.Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	if err := env.Stop(); err != nil {
		b.Fatal(err)
	}
	startStop(b, func() (func() error, error) {
		env, err := testenv.Start(context.Background(), testenv.Options{DataDir: dir})
		if err != nil {
			return nil, err
		}
		return env.Stop, nil
	})
}

// BenchmarkEnvtestStart is the same measure for controller-runtime's
// envtest (kube-apiserver and etcd processes).
func BenchmarkEnvtestStart(b *testing.B) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		b.Skip("KUBEBUILDER_ASSETS is not set: no kube-apiserver/etcd binaries, the envtest half is skipped")
	}
	startStop(b, func() (func() error, error) {
		env := &envtest.Environment{BinaryAssetsDirectory: assets}
		if _, err := env.Start(); err != nil {
			return nil, err
		}
		return env.Stop, nil
	})
}

// rssBytes reads this process's resident set size.
func rssBytes(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("VmRSS not found")
	return 0
}

// BenchmarkTestenvMemoryPerEnvironment starts 10 environments side by
// side (after one warm-up, so the binary's own pages are counted once)
// and reports the resident memory each adds, and the Go heap each
// holds.
func BenchmarkTestenvMemoryPerEnvironment(b *testing.B) {
	const n = 10
	for i := 0; i < b.N; i++ {
		warm, err := testenv.Start(context.Background(), testenv.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := warm.Stop(); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss0, heap0 := rssBytes(b), ms.HeapInuse
		var envs []*testenv.Environment
		for j := 0; j < n; j++ {
			env, err := testenv.Start(context.Background(), testenv.Options{})
			if err != nil {
				b.Fatal(err)
			}
			envs = append(envs, env)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		rss1, heap1 := rssBytes(b), ms.HeapInuse
		for _, env := range envs {
			if err := env.Stop(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rss1-rss0)/n/1e6, "MB-rss/env")
		b.ReportMetric(float64(int64(heap1)-int64(heap0))/n/1e6, "MB-heap/env")
	}
}

// BenchmarkTestenvParallel20 starts 20 environments at once, each with
// a CRD, and reports the time until all are ready and the slowest
// single start. Any failure fails the benchmark.
func BenchmarkTestenvParallel20(b *testing.B) {
	const n = 20
	crdDir := b.TempDir()
	if err := os.WriteFile(filepath.Join(crdDir, "crd.yaml"), []byte(crdYAML), 0o600); err != nil {
		b.Fatal(err)
	}
	var all []time.Duration
	for i := 0; i < b.N; i++ {
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			envs []*testenv.Environment
			errs []error
		)
		t0 := time.Now()
		for j := 0; j < n; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := time.Now()
				env, err := testenv.Start(context.Background(), testenv.Options{CRDDirectoryPaths: []string{crdDir}, ErrorIfCRDPathMissing: true})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				all = append(all, time.Since(s))
				envs = append(envs, env)
			}()
		}
		wg.Wait()
		wall := time.Since(t0)
		for _, env := range envs {
			if err := env.Stop(); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			b.Fatalf("%d of %d environments failed; first: %v", len(errs), n, errs[0])
		}
		b.ReportMetric(float64(wall.Milliseconds()), "ms-all-ready")
	}
	reportPercentiles(b, all)
}

const crdYAML = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.bench.example.com}
spec:
  group: bench.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

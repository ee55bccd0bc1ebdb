package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/flowcontrol"
)

// Sizes of the pre-created data sets.
const (
	getObjects  = 100
	listObjects = 1000
)

// setupTimeout bounds each scenario's pre-creation of objects.
const setupTimeout = 3 * time.Minute

// result is one row of the report: one scenario at one concurrency.
type result struct {
	Scenario    string  `json:"scenario"`
	Concurrency int     `json:"concurrency"` // workers; watchers for watch
	Requests    int64   `json:"requests"`    // successful requests; events delivered for watch
	Errors      int64   `json:"errors"`      // failed requests; undelivered events for watch
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"perSecond"`
	P50Ms       float64 `json:"p50Ms"`
	P99Ms       float64 `json:"p99Ms"`
	// CPUMsPerRequest is the server's user+system CPU time per successful
	// request, when a server pid is known (10 ms resolution over the step).
	CPUMsPerRequest *float64 `json:"cpuMsPerRequest,omitempty"`
	FirstError      string   `json:"firstError,omitempty"`
	Note            string   `json:"note,omitempty"`
}

// opFunc performs one timed request for worker w (0-based), iteration i.
type opFunc func(ctx context.Context, w, i int) error

// loadRunner runs the scenarios of one config against one server.
type loadRunner struct {
	cfg  config
	cs   kubernetes.Interface
	proc procFS
	log  io.Writer // progress lines; results are printed by the caller
}

// runScenarios creates the namespaces, runs every configured scenario at
// every concurrency, and deletes the namespaces again (also after an error or
// interrupt, with a fresh bounded context).
func (r loadRunner) runScenarios(ctx context.Context) (results []result, err error) {
	if r.cfg.RSSEvery > 0 {
		stop := r.sampleRSS(r.cfg.RSSEvery)
		defer stop()
	}
	ns := r.cfg.Namespace
	namespaces := []string{ns}
	for _, s := range r.cfg.Scenarios {
		if s == scenarioList {
			namespaces = append(namespaces, ns+listNamespaceSuffix)
		}
	}
	var created []string // only these are deleted again
	defer func() {
		for _, n := range created {
			fmt.Fprintf(r.log, "cleanup: deleting namespace %s\n", n)
			if cerr := deleteNamespace(context.WithoutCancel(ctx), r.cs, n); cerr != nil {
				fmt.Fprintf(r.log, "cleanup: %v\n", cerr)
			}
		}
	}()
	for _, n := range namespaces {
		if err := ensureNamespace(ctx, r.cs, n, r.log); err != nil {
			return nil, err
		}
		if !r.cfg.NoCleanup {
			created = append(created, n)
		}
	}
	for _, s := range r.cfg.Scenarios {
		rs, err := r.runScenario(ctx, s)
		results = append(results, rs...)
		if err != nil {
			return results, fmt.Errorf("scenario %s: %w", s, err)
		}
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
	}
	return results, nil
}

// runScenario prepares one scenario and runs it at each concurrency.
func (r loadRunner) runScenario(ctx context.Context, s string) ([]result, error) {
	ns := r.cfg.Namespace
	cms := r.cs.CoreV1().ConfigMaps(ns)
	if s == scenarioWatch {
		res, err := r.watchFanout(ctx)
		return []result{res}, err
	}
	var setup func(ctx context.Context, conc int) (opFunc, error)
	switch s {
	case scenarioCreate:
		setup = func(_ context.Context, conc int) (opFunc, error) {
			return func(ctx context.Context, w, i int) error {
				name := fmt.Sprintf("create-c%d-w%d-%d", conc, w, i)
				_, err := cms.Create(ctx, configMap(name, s, nil), metav1.CreateOptions{})
				return err
			}, nil
		}
	case scenarioGet:
		if err := r.precreate(ctx, ns, s, "get", getObjects); err != nil {
			return nil, err
		}
		setup = func(context.Context, int) (opFunc, error) {
			return func(ctx context.Context, _, _ int) error {
				_, err := cms.Get(ctx, fmt.Sprintf("get-%d", rand.IntN(getObjects)), metav1.GetOptions{})
				return err
			}, nil
		}
	case scenarioList:
		lns := ns + listNamespaceSuffix
		if err := r.precreate(ctx, lns, s, "list", listObjects); err != nil {
			return nil, err
		}
		setup = func(context.Context, int) (opFunc, error) {
			return func(ctx context.Context, _, _ int) error {
				l, err := r.cs.CoreV1().ConfigMaps(lns).List(ctx, metav1.ListOptions{})
				if err == nil && len(l.Items) < listObjects {
					err = fmt.Errorf("list returned %d ConfigMaps, want at least %d", len(l.Items), listObjects)
				}
				return err
			}, nil
		}
	case scenarioUpdate:
		setup = r.updateSetup
	default:
		return nil, fmt.Errorf("unknown scenario %q", s)
	}
	var out []result
	for _, conc := range r.cfg.Concurrency {
		op, err := setup(ctx, conc)
		if err != nil {
			return out, err
		}
		res := r.step(ctx, s, conc, op)
		fmt.Fprintf(r.log, "%s c=%d: %d requests, %.0f/s, p50 %.2fms p99 %.2fms, %d errors\n",
			s, conc, res.Requests, res.PerSecond, res.P50Ms, res.P99Ms, res.Errors)
		out = append(out, res)
		if ctx.Err() != nil {
			break
		}
	}
	return out, nil
}

// precreate creates n ConfigMaps named prefix-0 … prefix-(n-1).
func (r loadRunner) precreate(ctx context.Context, ns, scenario, prefix string, n int) error {
	fmt.Fprintf(r.log, "%s: creating %d ConfigMaps in %s\n", scenario, n, ns)
	names := make([]string, n)
	for i := range names {
		names[i] = prefix + "-" + strconv.Itoa(i)
	}
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	return createMany(ctx, r.cs, ns, scenario, names)
}

// updateSetup gives each worker its own ConfigMap and returns an op that
// PUTs it with the last resourceVersion seen; on 409 it re-reads the object
// (the conflict counts as an error, the re-read is not timed).
func (r loadRunner) updateSetup(ctx context.Context, conc int) (opFunc, error) {
	cms := r.cs.CoreV1().ConfigMaps(r.cfg.Namespace)
	own := make([]*corev1.ConfigMap, conc) // own[w] is touched only by worker w
	names := make([]string, conc)
	for w := range names {
		names[w] = fmt.Sprintf("update-c%d-w%d", conc, w)
	}
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	if err := createMany(sctx, r.cs, r.cfg.Namespace, scenarioUpdate, names); err != nil {
		return nil, err
	}
	for w, n := range names {
		cm, err := cms.Get(sctx, n, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get ConfigMap %s: %w", n, err)
		}
		own[w] = cm
	}
	return func(ctx context.Context, w, i int) error {
		cm := own[w].DeepCopy()
		cm.Data["n"] = strconv.Itoa(i)
		out, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if fresh, gerr := cms.Get(ctx, cm.Name, metav1.GetOptions{}); gerr == nil {
				own[w] = fresh
			}
			return err
		}
		if err == nil {
			own[w] = out
		}
		return err
	}, nil
}

// step runs op with conc workers until the duration has passed or
// MaxRequests were issued, and measures it. A request cut off by the end of
// the step is neither counted nor timed.
func (r loadRunner) step(ctx context.Context, scenario string, conc int, op opFunc) result {
	sctx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()
	cpu0, cpuErr := r.serverCPU()
	var issued, errs atomic.Int64
	var firstErr sync.Once
	var firstMsg string
	lats := make([][]time.Duration, conc)
	var limit flowcontrol.RateLimiter // nil: no limit
	if r.cfg.Rate > 0 {
		limit = flowcontrol.NewTokenBucketRateLimiter(float32(r.cfg.Rate), 1)
		defer limit.Stop()
	}
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Go(func() {
			for i := 0; sctx.Err() == nil && issued.Add(1) <= r.cfg.MaxRequests; i++ {
				if limit != nil && limit.Wait(sctx) != nil {
					return
				}
				t0 := time.Now()
				err := op(sctx, w, i)
				d := time.Since(t0)
				if err != nil {
					if sctx.Err() != nil {
						return
					}
					errs.Add(1)
					firstErr.Do(func() { firstMsg = err.Error() })
					continue
				}
				lats[w] = append(lats[w], d)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	sum := summarize(all)
	res := result{
		Scenario: scenario, Concurrency: conc,
		Requests: int64(len(all)), Errors: errs.Load(),
		Seconds: elapsed.Seconds(), PerSecond: perSecond(int64(len(all)), elapsed),
		P50Ms: ms(sum.P50), P99Ms: ms(sum.P99), FirstError: firstMsg,
	}
	if cpu1, err := r.serverCPU(); cpuErr == nil && err == nil && res.Requests > 0 {
		v := ms(cpu1-cpu0) / float64(res.Requests)
		res.CPUMsPerRequest = &v
	}
	return res
}

// serverCPU returns the server process tree's CPU time so far, or an error
// when no server pid is known.
func (r loadRunner) serverCPU() (time.Duration, error) {
	if r.cfg.ServerPID == 0 {
		return 0, fmt.Errorf("no server pid")
	}
	return r.proc.treeCPU(r.cfg.ServerPID)
}

// sampleRSS logs the server tree's RSS every interval (and once at the
// start) until the returned function is called, as lines
// "rss t=SECONDS MiB=N" for memory-over-time curves.
func (r loadRunner) sampleRSS(every time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if kb, err := r.proc.treeRSS(r.cfg.ServerPID); err == nil {
				fmt.Fprintf(r.log, "rss t=%.0f MiB=%.1f\n", time.Since(start).Seconds(), float64(kb)/1024)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

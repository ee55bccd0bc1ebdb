package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// watchGrace is how long watchers may keep receiving after the writer is
// done; it bounds the scenario when events are lost.
const watchGrace = 30 * time.Second

// Data keys the writer sets on each watch-scenario ConfigMap.
const (
	keyIndex = "i" // event number 0..N-1
	keySent  = "t" // writer's wall clock before the create, Unix nanoseconds
)

// watcherLog is what one watcher saw: for event i, Recv[i] is when it arrived
// and Sent[i] the timestamp the writer put in the object (both Unix
// nanoseconds, 0 if never seen). Each watcher owns its log, so no locking.
type watcherLog struct {
	Recv, Sent []int64
}

// fanout is the summary of a watch fan-out run.
type fanout struct {
	Delivered int64           // events received, summed over watchers
	AllSeen   []time.Duration // per event seen by every watcher: last arrival − sent
	LastRecv  int64           // latest arrival of any event, Unix nanoseconds
}

// summarizeFanout combines the watchers' logs. An event counts towards
// AllSeen only if every watcher received it.
func summarizeFanout(logs []watcherLog, events int) fanout {
	var f fanout
	for i := range events {
		var last, sent int64
		all := len(logs) > 0
		for _, l := range logs {
			if l.Recv[i] == 0 {
				all = false
				continue
			}
			f.Delivered++
			last = max(last, l.Recv[i])
			if sent == 0 {
				sent = l.Sent[i]
			}
		}
		f.LastRecv = max(f.LastRecv, last)
		if all && sent != 0 {
			f.AllSeen = append(f.AllSeen, time.Duration(last-sent))
		}
	}
	return f
}

// watchFanout opens Watchers watches on the namespace (selecting the watch
// scenario's label, starting from the current resourceVersion so no old
// objects are replayed), then one writer creates WatchEvents ConfigMaps as
// fast as it can. It reports events delivered per second over all watchers
// and the latency until the last watcher saw each event.
func (r loadRunner) watchFanout(ctx context.Context) (result, error) {
	n, events := r.cfg.Watchers, r.cfg.WatchEvents
	res := result{Scenario: scenarioWatch, Concurrency: n}
	cms := r.cs.CoreV1().ConfigMaps(r.cfg.Namespace)
	sel := scenarioLabel + "=" + scenarioWatch

	ctx, cancel := context.WithTimeout(ctx, r.cfg.Duration+watchGrace)
	defer cancel()
	list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return res, fmt.Errorf("list before watch: %w", err)
	}
	if len(list.Items) > 0 {
		return res, fmt.Errorf("namespace %s already has %d watch-scenario ConfigMaps", r.cfg.Namespace, len(list.Items))
	}

	fmt.Fprintf(r.log, "watch: opening %d watches\n", n)
	watches := make([]watch.Interface, n)
	werrs := make([]error, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			watches[w], werrs[w] = cms.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: list.ResourceVersion})
		})
	}
	wg.Wait()
	defer func() {
		for _, wi := range watches {
			if wi != nil {
				wi.Stop()
			}
		}
	}()
	for _, err := range werrs {
		if err != nil {
			return res, fmt.Errorf("open watch: %w", err)
		}
	}

	logs := make([]watcherLog, n)
	for w := range n {
		logs[w] = watcherLog{Recv: make([]int64, events), Sent: make([]int64, events)}
		wg.Go(func() { receive(ctx, watches[w], logs[w], events) })
	}

	cpu0, cpuErr := r.serverCPU()
	writeStart := time.Now()
	var writeErrs int64
	for i := 0; i < events && ctx.Err() == nil; i++ {
		data := map[string]string{keyIndex: strconv.Itoa(i), keySent: strconv.FormatInt(time.Now().UnixNano(), 10)}
		if _, err := cms.Create(ctx, configMap("watch-"+strconv.Itoa(i), scenarioWatch, data), metav1.CreateOptions{}); err != nil {
			writeErrs++
			if res.FirstError == "" {
				res.FirstError = err.Error()
			}
		}
	}
	writeDur := time.Since(writeStart)
	stop := time.AfterFunc(watchGrace, cancel) // writes that failed are never delivered
	wg.Wait()
	stop.Stop()

	f := summarizeFanout(logs, events)
	sum := summarize(f.AllSeen)
	var span time.Duration
	if f.LastRecv > 0 {
		span = time.Duration(f.LastRecv - writeStart.UnixNano())
	}
	res.Requests = f.Delivered
	res.Errors = int64(n*events) - f.Delivered
	res.Seconds = span.Seconds()
	res.PerSecond = perSecond(f.Delivered, span)
	res.P50Ms, res.P99Ms = ms(sum.P50), ms(sum.P99)
	res.Note = fmt.Sprintf("%d creates in %.2fs (%d failed); %d/%d events seen by all watchers",
		events, writeDur.Seconds(), writeErrs, len(f.AllSeen), events)
	if cpu1, err := r.serverCPU(); cpuErr == nil && err == nil && f.Delivered > 0 {
		v := ms(cpu1-cpu0) / float64(f.Delivered)
		res.CPUMsPerRequest = &v
	}
	fmt.Fprintf(r.log, "watch: %d watchers, %d events delivered, %.0f/s, all-seen p50 %.2fms p99 %.2fms; %s\n",
		n, res.Requests, res.PerSecond, res.P50Ms, res.P99Ms, res.Note)
	return res, nil
}

// receive records ADDED events from one watch into log until it has seen
// all events, the watch ends, or ctx is done.
func receive(ctx context.Context, wi watch.Interface, log watcherLog, events int) {
	seen := 0
	for seen < events {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return
			}
			now := time.Now().UnixNano()
			cm, isCM := ev.Object.(*corev1.ConfigMap)
			if ev.Type != watch.Added || !isCM {
				continue
			}
			i, err := strconv.Atoi(cm.Data[keyIndex])
			if err != nil || i < 0 || i >= events || log.Recv[i] != 0 {
				continue
			}
			sent, _ := strconv.ParseInt(cm.Data[keySent], 10, 64)
			log.Recv[i], log.Sent[i] = now, sent
			seen++
		}
	}
}

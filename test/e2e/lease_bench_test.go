package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// processCPU returns the user+system CPU time a process has used.
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command (which may hold spaces) start past ')'.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100, nil // USER_HZ is 100 on Linux
}

// BenchmarkLeaseRenewals simulates 1,000 nodes, each with its own client
// certificate (system:node:<name>), renewing its Lease in kube-node-lease
// every 10 s (100 updates/s, through the Node authorizer and
// NodeRestriction) for 60 s, and reports the API server's CPU (share of
// one core) and the p50/p99 latency of a renewal. Run it with
//
//	go test ./test/e2e -run '^$' -bench LeaseRenewals -benchtime 1x
func BenchmarkLeaseRenewals(b *testing.B) {
	const (
		nodes    = 1000
		interval = 10 * time.Second
		duration = 60 * time.Second
	)
	ctx := context.Background()
	for iter := 0; iter < b.N; iter++ {
		b.StopTimer()
		s, err := launch(filepath.Join(b.TempDir(), fmt.Sprint("data", iter)), 0)
		if err != nil {
			b.Fatal(err)
		}
		clients := make([]*kubernetes.Clientset, nodes)
		for i := range clients {
			clients[i] = s.certClient(b, fmt.Sprintf("system:node:sim-%04d", i), "system:nodes")
		}
		holder := func(i int) *string { h := fmt.Sprintf("sim-%04d", i); return &h }
		secs := int32(40)
		for i, c := range clients {
			now := metav1.NowMicro()
			l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: *holder(i)}, Spec: coordinationv1.LeaseSpec{HolderIdentity: holder(i), LeaseDurationSeconds: &secs, RenewTime: &now}}
			if _, err := c.CoordinationV1().Leases("kube-node-lease").Create(ctx, l, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		cpu0, err := processCPU(s.cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		var (
			mu   sync.Mutex
			lat  []time.Duration
			errs int
			wg   sync.WaitGroup
		)
		for i, c := range clients {
			wg.Add(1)
			go func(i int, c *kubernetes.Clientset) {
				defer wg.Done()
				// Spread the nodes over the interval, as real ones drift.
				time.Sleep(time.Duration(i) * interval / nodes)
				leases := c.CoordinationV1().Leases("kube-node-lease")
				name := fmt.Sprintf("sim-%04d", i)
				// As a kubelet: update the Lease it last wrote (one request
				// per renewal), reading it again only after a conflict.
				cur, err := leases.Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					mu.Lock()
					errs++
					mu.Unlock()
					return
				}
				for time.Since(start) < duration {
					t0 := time.Now()
					now := metav1.NowMicro()
					cur.Spec.RenewTime = &now
					next, err := leases.Update(ctx, cur, metav1.UpdateOptions{})
					if err == nil {
						cur = next
					} else if fresh, gerr := leases.Get(ctx, name, metav1.GetOptions{}); gerr == nil {
						cur = fresh
					}
					d := time.Since(t0)
					mu.Lock()
					if err != nil {
						errs++
					} else {
						lat = append(lat, d)
					}
					mu.Unlock()
					time.Sleep(interval - d)
				}
			}(i, c)
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		cpu1, _ := processCPU(s.cmd.Process.Pid)
		_ = s.stop(syscall.SIGTERM)
		if errs > 0 {
			b.Errorf("%d renewals failed", errs)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(100*float64(cpu1-cpu0)/float64(elapsed), "server-cpu-%")
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "renewals/s")
		if len(lat) > 0 {
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		}
	}
}

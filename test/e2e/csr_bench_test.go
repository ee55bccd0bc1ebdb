package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// BenchmarkCSRSigning measures the csrsigning controller from approved to
// issued: a server without in-process controllers gets 500 approved P-256
// CSRs (KASTLE_BENCH_CSRS=N for another number, e.g. 3000 for a sustained
// rate past the manager's client burst), then a `kastle controller-manager` process starts and a watch
// notes when each certificate lands. It reports CSRs/s (manager start to
// last issue, informer sync included) and the CPU each process spent per
// CSR over that time. Run it with
//
//	go test ./test/e2e -run '^$' -bench CSRSigning -benchtime 1x
//
// With KASTLE_BENCH_CPUPROFILE=FILE the server runs with --profiling and
// a CPU profile of the signing (3 s from the manager's start) is written
// to FILE. KASTLE_BENCH_BINARY names another kastle binary to measure
// (both server and manager), for interleaved comparisons of two builds.
// KASTLE_BENCH_MANAGER_ARGS adds space-separated flags to the manager's
// command line (e.g. "--kube-api-qps=1000 --kube-api-burst=2000");
// KASTLE_BENCH_MANAGER_LOG=FILE keeps its log (with -v) in FILE.
func BenchmarkCSRSigning(b *testing.B) {
	n := 500
	if v := os.Getenv("KASTLE_BENCH_CSRS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2 {
			b.Fatalf("KASTLE_BENCH_CSRS=%q: want a number of CSRs, at least 2", v)
		}
	}
	ctx := context.Background()
	profile := os.Getenv("KASTLE_BENCH_CPUPROFILE")
	if bin := os.Getenv("KASTLE_BENCH_BINARY"); bin != "" {
		defer func(orig string) { env.kastle = orig }(env.kastle)
		env.kastle = bin
	}
	for iter := 0; iter < b.N; iter++ {
		b.StopTimer()
		args := []string{"--run-controllers=false"}
		if profile != "" {
			args = append(args, "--profiling")
		}
		s, err := launch(filepath.Join(b.TempDir(), fmt.Sprint("data", iter)), 0, args...)
		if err != nil {
			b.Fatal(err)
		}
		admin := s.clientset(b)
		approve := func(name string) error {
			cur, err := admin.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{
				Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Bench", LastUpdateTime: metav1.Now()}}
			_, err = admin.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, name, cur, metav1.UpdateOptions{})
			return err
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		work := make(chan int)
		for c := 0; c < 8; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					name := fmt.Sprintf("bench-%d", i)
					_, req := makeCSR(b, name, nil, nil, nil)
					if err := createCSR(ctx, admin, name, "kubernetes.io/kube-apiserver-client", req, certificatesv1.UsageClientAuth); err != nil {
						errs <- err
						continue
					}
					if err := approve(name); err != nil {
						errs <- err
					}
				}
			}()
		}
		for i := 0; i < n; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		list, err := admin.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		w, err := admin.CertificatesV1().CertificateSigningRequests().Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			b.Fatal(err)
		}
		issued := map[string]bool{}
		var profiled chan error
		if profile != "" {
			profiled = make(chan error, 1)
			go func() {
				data, err := admin.RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", "3").DoRaw(ctx)
				if err == nil {
					err = os.WriteFile(profile, data, 0o644)
				}
				profiled <- err
			}()
		}
		serverCPU0, err := processCPU(s.cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		cm := exec.Command(env.kastle, "controller-manager", "--kubeconfig", filepath.Join(s.dataDir, "controller-manager.conf"),
			"--cluster-signing-cert-file", filepath.Join(s.dataDir, "pki", "ca.crt"), "--cluster-signing-key-file", filepath.Join(s.dataDir, "pki", "ca.key"),
			"--leader-elect=false")
		cm.Args = append(cm.Args, strings.Fields(os.Getenv("KASTLE_BENCH_MANAGER_ARGS"))...)
		if logFile := os.Getenv("KASTLE_BENCH_MANAGER_LOG"); logFile != "" {
			f, err := os.Create(logFile)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			cm.Args, cm.Stderr = append(cm.Args, "-v"), f
		}
		cm.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cm.Start(); err != nil {
			b.Fatal(err)
		}
		var first time.Duration
		timeout := time.After(2 * time.Minute)
		for len(issued) < n {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					b.Fatal("watch closed")
				}
				if csr, isCSR := ev.Object.(*certificatesv1.CertificateSigningRequest); isCSR && ev.Type == watch.Modified && len(csr.Status.Certificate) > 0 {
					if len(issued) == 0 {
						first = time.Since(start)
					}
					issued[csr.Name] = true
				}
			case <-timeout:
				b.Fatalf("only %d of %d issued", len(issued), n)
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		serverCPU, err1 := processCPU(s.cmd.Process.Pid)
		cmCPU, err2 := processCPU(cm.Process.Pid)
		if err1 != nil || err2 != nil {
			b.Fatal(err1, err2)
		}
		if profiled != nil {
			if err := <-profiled; err != nil {
				b.Fatal(err)
			}
		}
		w.Stop()
		_ = cm.Process.Signal(syscall.SIGTERM)
		_ = cm.Wait()
		_ = s.stop(syscall.SIGTERM)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "csrs/s")
		// The rate once the manager is up: its start (exec, TLS, informer
		// sync) is part of csrs/s but not of this.
		b.ReportMetric(float64(n-1)/(elapsed-first).Seconds(), "csrs/s-after-first")
		b.ReportMetric(float64(first.Milliseconds()), "ms-to-first")
		b.ReportMetric(float64((serverCPU-serverCPU0).Microseconds())/1000/float64(n), "server-cpu-ms/csr")
		b.ReportMetric(float64(cmCPU.Microseconds())/1000/float64(n), "manager-cpu-ms/csr")
	}
}

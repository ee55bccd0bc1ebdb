package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
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
// CSRs, then a `kastle controller-manager` process starts and a watch
// notes when each certificate lands. It reports CSRs/s (manager start to
// last issue, informer sync included). Run it with
//
//	go test ./test/e2e -run '^$' -bench CSRSigning -benchtime 1x
func BenchmarkCSRSigning(b *testing.B) {
	const n = 500
	ctx := context.Background()
	for iter := 0; iter < b.N; iter++ {
		b.StopTimer()
		s, err := launch(filepath.Join(b.TempDir(), fmt.Sprint("data", iter)), 0, "--run-controllers=false")
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
		b.StartTimer()
		start := time.Now()
		cm := exec.Command(env.kastle, "controller-manager", "--kubeconfig", filepath.Join(s.dataDir, "controller-manager.conf"),
			"--cluster-signing-cert-file", filepath.Join(s.dataDir, "pki", "ca.crt"), "--cluster-signing-key-file", filepath.Join(s.dataDir, "pki", "ca.key"),
			"--leader-elect=false")
		cm.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cm.Start(); err != nil {
			b.Fatal(err)
		}
		timeout := time.After(2 * time.Minute)
		for len(issued) < n {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					b.Fatal("watch closed")
				}
				if csr, isCSR := ev.Object.(*certificatesv1.CertificateSigningRequest); isCSR && ev.Type == watch.Modified && len(csr.Status.Certificate) > 0 {
					issued[csr.Name] = true
				}
			case <-timeout:
				b.Fatalf("only %d of %d issued", len(issued), n)
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		w.Stop()
		_ = cm.Process.Signal(syscall.SIGTERM)
		_ = cm.Wait()
		_ = s.stop(syscall.SIGTERM)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "csrs/s")
	}
}

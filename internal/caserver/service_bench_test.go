package caserver

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkServiceSignCSR measures the service's own work per PKCS #10
// request (parse, signature check, policy, signing, journal with its
// fsync), without transport, from 1 and 8 goroutines. cpu-us/op is the
// process's CPU per request: with the fsync's wait in the wall time,
// ns/op says little.
func BenchmarkServiceSignCSR(b *testing.B) {
	svc := newTestService(&testing.T{}, nil)
	key, _ := pki.GenerateKey(pki.ECDSAP256)
	csr, _ := pki.CreateCSR(key, pki.CertSpec{CommonName: "bench", DNSNames: []string{"bench.example.com"}})
	for _, conc := range []int{1, 8} {
		b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := 0; w < conc; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < b.N; i += conc {
						if _, err := svc.SignCSR(AdminIdentity, "server", csr); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
		})
	}
}

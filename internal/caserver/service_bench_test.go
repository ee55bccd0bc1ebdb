package caserver

import (
	"testing"

	"github.com/kastle-dev/kastle/internal/pki"
)

// BenchmarkServiceSignCSR measures the service's own work per PKCS #10
// request (parse, signature check, policy, signing, journal), without
// transport.
func BenchmarkServiceSignCSR(b *testing.B) {
	svc := newTestService(&testing.T{}, nil)
	key, _ := pki.GenerateKey(pki.ECDSAP256)
	csr, _ := pki.CreateCSR(key, pki.CertSpec{CommonName: "bench", DNSNames: []string{"bench.example.com"}})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := svc.SignCSR(AdminIdentity, "server", csr); err != nil {
			b.Fatal(err)
		}
	}
}

package pki_test

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kastle-dev/kastle/internal/pki"
)

// BenchmarkEnsureServerPKI measures the start-up cost: from an empty data
// directory (keys generated, certificates issued and synced to disk) and
// with everything already in place (read, parse, verify).
func BenchmarkEnsureServerPKI(b *testing.B) {
	for _, alg := range []pki.KeyAlgorithm{pki.ECDSAP256, pki.RSA2048} {
		b.Run("fresh/"+string(alg), func(b *testing.B) {
			root := b.TempDir()
			i := 0
			for b.Loop() {
				cfg := serverConfig(filepath.Join(root, strconv.Itoa(i)))
				cfg.KeyAlgorithm = alg
				mustEnsure(b, cfg)
				i++
			}
		})
		b.Run("existing/"+string(alg), func(b *testing.B) {
			cfg := serverConfig(b.TempDir())
			cfg.KeyAlgorithm = alg
			mustEnsure(b, cfg)
			for b.Loop() {
				mustEnsure(b, cfg)
			}
		})
	}
}

// BenchmarkIssueClientCert measures minting a throwaway client identity.
func BenchmarkIssueClientCert(b *testing.B) {
	ca := newCA(b, "kubernetes")
	for b.Loop() {
		if _, _, err := ca.IssueClientCert("alice", []string{"dev"}, pki.LeafValidity); err != nil {
			b.Fatal(err)
		}
	}
}

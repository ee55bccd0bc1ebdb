package kubeconfig_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kastle-dev/kastle/internal/pki/kubeconfig"
)

// BenchmarkEnsureAdmin measures admin.conf on start-up: written from
// scratch, and checked when it already exists.
func BenchmarkEnsureAdmin(b *testing.B) {
	dir := b.TempDir()
	sp := serverPKI(b, dir)
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			ensureAdmin(b, dir, serverURL, sp.CA)
			b.StopTimer()
			os.Remove(filepath.Join(dir, "admin.conf"))
			b.StartTimer()
		}
	})
	b.Run("existing", func(b *testing.B) {
		ensureAdmin(b, dir, serverURL, sp.CA)
		for b.Loop() {
			if _, err := kubeconfig.EnsureAdmin(dir, serverURL, sp.CA, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

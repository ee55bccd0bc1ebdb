package encryption

import (
	"context"
	"testing"
)

// BenchmarkTransform encrypts and decrypts a 1 KiB value with each
// provider.
func BenchmarkTransform(b *testing.B) {
	ctx := context.Background()
	value := make([]byte, 1024)
	for _, p := range []struct {
		name, provider string
		size           int
	}{{"aesgcm-256", "aesgcm", 32}, {"aesgcm-128", "aesgcm", 16}, {"aescbc-256", "aescbc", 32}, {"secretbox", "secretbox", 32}, {"identity", "identity", 0}} {
		_, k := newKey(b, max(p.size, 16))
		tr := secrets(b, config("secrets", provider(p.provider, "key1", k)))
		stored, err := tr.TransformToStorage(ctx, value, etcdKey)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(p.name+"/encrypt-1KiB", func(b *testing.B) {
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.TransformToStorage(ctx, value, etcdKey); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(p.name+"/decrypt-1KiB", func(b *testing.B) {
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := tr.TransformFromStorage(ctx, stored, etcdKey); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package embedded

import (
	"context"
	"testing"
)

// BenchmarkClient compares the in-process client with a gRPC client over
// loopback, to choose Client's default.
func BenchmarkClient(b *testing.B) {
	for _, kind := range []struct {
		name string
		grpc bool
	}{{"in-process", false}, {"grpc", true}} {
		s := startServer(b, kind.grpc)
		c := s.Client()
		ctx := context.Background()
		if _, err := c.Put(ctx, "/bench/get", "value"); err != nil {
			b.Fatal(err)
		}
		b.Run(kind.name+"/Get", func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Get(ctx, "/bench/get"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(kind.name+"/Put", func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Put(ctx, "/bench/put", "value"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStart measures a cold start of a fresh member.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		s, err := Start(context.Background(), Config{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

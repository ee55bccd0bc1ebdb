package embedded

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
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

// BenchmarkDefragment measures what a defragmentation costs the writers
// of a member whose file is mostly free space: 1,000 live keys of 1 KiB
// (the load generator's live objects) among ~100 MiB of freed pages. It
// reports the defragmentation's duration and the slowest put a
// concurrent writer saw meanwhile (ms). Run with -benchtime=Nx: each
// iteration writes and deletes the 100 MiB first, outside the timer.
func BenchmarkDefragment(b *testing.B) {
	s := startServer(b, false)
	c := s.Client()
	ctx := context.Background()
	var took, worst time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fragment(b, c, 25_000, 4096, 0)
		val := strings.Repeat("v", 1024)
		for j := range 1000 {
			if _, err := c.Put(ctx, fmt.Sprintf("/live/%04d", j), val); err != nil {
				b.Fatal(err)
			}
		}
		stop, done := make(chan struct{}), make(chan time.Duration)
		go func() {
			var max time.Duration
			for j := 0; ; j++ {
				select {
				case <-stop:
					done <- max
					return
				default:
				}
				start := time.Now()
				if _, err := c.Put(ctx, fmt.Sprintf("/live/%04d", j%1000), val); err != nil {
					b.Error(err)
				}
				max = maxDur(max, time.Since(start))
			}
		}()
		time.Sleep(50 * time.Millisecond)
		b.StartTimer()
		r, err := s.MaybeDefragment(DefragPolicy{FreeFraction: 0.5})
		b.StopTimer()
		time.Sleep(50 * time.Millisecond)
		close(stop)
		w := <-done
		if err != nil || !r.Defragmented {
			b.Fatalf("defragmented %v, err %v (%+v)", r.Defragmented, err, r)
		}
		b.Logf("file %d MiB -> %d MiB (%d MiB live) in %s; slowest concurrent put %s",
			r.Size>>20, r.After>>20, r.InUse>>20, r.Took, w)
		took += r.Took
		worst = maxDur(worst, w)
	}
	b.ReportMetric(float64(took.Microseconds())/1000/float64(b.N), "defrag-ms")
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-put-ms")
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

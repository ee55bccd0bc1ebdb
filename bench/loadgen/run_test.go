package main

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// TestStepBounds checks that a step stops at MaxRequests, counts successes
// and failures apart and keeps the first error, without any server.
func TestStepBounds(t *testing.T) {
	tests := []struct {
		name       string
		conc       int
		max        int64
		failEvery  int64 // 0: never fail
		wantOK     int64
		wantErrors int64
	}{
		{"one worker", 1, 10, 0, 10, 0},
		{"many workers share the bound", 8, 50, 0, 50, 0},
		{"every third request fails", 4, 30, 3, 20, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := loadRunner{cfg: config{Duration: time.Minute, MaxRequests: tt.max}, log: io.Discard}
			var n atomic.Int64
			res := r.step(context.Background(), "test", tt.conc, func(ctx context.Context, w, i int) error {
				if k := n.Add(1); tt.failEvery > 0 && k%tt.failEvery == 0 {
					return errors.New("boom")
				}
				return nil
			})
			if res.Requests != tt.wantOK || res.Errors != tt.wantErrors || res.Concurrency != tt.conc {
				t.Errorf("step = %+v, want %d ok, %d errors", res, tt.wantOK, tt.wantErrors)
			}
			if (tt.wantErrors > 0) != (res.FirstError == "boom") {
				t.Errorf("FirstError = %q", res.FirstError)
			}
			if res.CPUMsPerRequest != nil {
				t.Error("CPU per request reported without a server pid")
			}
		})
	}
}

// TestStepEndsWithDuration checks that a step whose requests block until
// cancelled ends when its duration is over, and that the cut-off requests
// are not counted as errors.
func TestStepEndsWithDuration(t *testing.T) {
	r := loadRunner{cfg: config{Duration: 50 * time.Millisecond, MaxRequests: 1 << 40}, log: io.Discard}
	res := r.step(context.Background(), "test", 3, func(ctx context.Context, w, i int) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if res.Requests != 0 || res.Errors != 0 {
		t.Errorf("step = %+v, want no requests and no errors", res)
	}
}

// TestStepCPUOfSelf measures this test process as the "server", so the CPU
// column is exercised against the real /proc.
func TestStepCPUOfSelf(t *testing.T) {
	r := loadRunner{cfg: config{Duration: time.Minute, MaxRequests: 100, ServerPID: os.Getpid()}, proc: procFS{Root: "/proc"}, log: io.Discard}
	res := r.step(context.Background(), "test", 2, func(context.Context, int, int) error { return nil })
	if res.CPUMsPerRequest == nil || *res.CPUMsPerRequest < 0 {
		t.Errorf("CPUMsPerRequest = %v, want a value >= 0", res.CPUMsPerRequest)
	}
}

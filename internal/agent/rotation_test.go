package agent

import (
	"crypto/x509"
	"testing"
	"time"
)

func TestRotationDeadline(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := &x509.Certificate{NotBefore: nb, NotAfter: nb.Add(100 * time.Hour)}
	for _, tc := range []struct {
		jitter float64
		want   time.Duration
	}{{0, 70 * time.Hour}, {0.5, 80 * time.Hour}, {0.999999, 90 * time.Hour}} {
		got := rotationDeadline(cert, func() float64 { return tc.jitter }).Sub(nb)
		if d := got - tc.want; d < -time.Second || d > time.Second {
			t.Errorf("jitter %v: deadline at %s, want %s", tc.jitter, got, tc.want)
		}
	}
	// Real jitter stays within 70–90 % and spreads.
	seen := map[time.Duration]bool{}
	for range 200 {
		d := rotationDeadline(cert, nil).Sub(nb)
		if d < 70*time.Hour || d > 90*time.Hour {
			t.Fatalf("deadline %s outside 70–90 %% of 100h", d)
		}
		seen[d.Truncate(time.Hour)] = true
	}
	if len(seen) < 10 {
		t.Errorf("deadlines not spread: %v", seen)
	}
	// A backdated 3m certificate (5m backdate) renews 36s–132s after
	// issuance, well before it expires.
	issued := nb.Add(5 * time.Minute)
	short := &x509.Certificate{NotBefore: nb, NotAfter: issued.Add(3 * time.Minute)}
	for _, j := range []float64{0, 0.999} {
		d := rotationDeadline(short, func() float64 { return j }).Sub(issued)
		if d < 30*time.Second || d > 135*time.Second {
			t.Errorf("short certificate renews %s after issuance", d)
		}
	}
}

func TestRetryBackoff(t *testing.T) {
	for _, tc := range []struct {
		n         int
		remaining time.Duration
		want      time.Duration
	}{
		{0, time.Hour, time.Second},
		{1, time.Hour, 2 * time.Second},
		{5, time.Hour, 32 * time.Second},
		{6, time.Hour, time.Minute},
		{40, time.Hour, time.Minute},
		{5, 50 * time.Second, 5 * time.Second},
		{5, 0, time.Second},
		{3, -time.Minute, time.Second},
	} {
		if got := retryBackoff(tc.n, tc.remaining); got != tc.want {
			t.Errorf("retryBackoff(%d, %s) = %s, want %s", tc.n, tc.remaining, got, tc.want)
		}
	}
}

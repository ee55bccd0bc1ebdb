package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one p50", ms(7), 50, 7 * time.Millisecond},
		{"one p99", ms(7), 99, 7 * time.Millisecond},
		{"two p50 is the lower", ms(1, 2), 50, time.Millisecond},
		{"two p99 is the upper", ms(1, 2), 99, 2 * time.Millisecond},
		{"odd p50 is the middle", ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"hundred p50", hundred, 50, 50 * time.Millisecond},
		{"hundred p99", hundred, 99, 99 * time.Millisecond},
		{"hundred p100", hundred, 100, 100 * time.Millisecond},
		{"tiny p rounds up to the first", hundred, 0.001, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeSortsInput(t *testing.T) {
	lat := []time.Duration{5, 1, 4, 2, 3}
	got := summarize(lat)
	if got.P50 != 3 || got.P99 != 5 {
		t.Errorf("summarize = %+v, want P50 3 P99 5", got)
	}
}

func TestPerSecond(t *testing.T) {
	tests := []struct {
		n       int64
		elapsed time.Duration
		want    float64
	}{
		{100, time.Second, 100},
		{100, 2 * time.Second, 50},
		{5, 0, 0},
		{5, -time.Second, 0},
	}
	for _, tt := range tests {
		if got := perSecond(tt.n, tt.elapsed); got != tt.want {
			t.Errorf("perSecond(%d, %v) = %v, want %v", tt.n, tt.elapsed, got, tt.want)
		}
	}
}

package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, which must be in ascending order. It returns 0 for an empty slice so
// that a step without successful requests still prints a row.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// latencySummary holds the latency figures reported for one step.
type latencySummary struct {
	P50, P99 time.Duration
}

// summarize sorts lat in place and returns its p50 and p99.
func summarize(lat []time.Duration) latencySummary {
	slices.Sort(lat)
	return latencySummary{P50: percentile(lat, 50), P99: percentile(lat, 99)}
}

// perSecond returns n/elapsed, or 0 when elapsed is not positive.
func perSecond(n int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(n) / elapsed.Seconds()
}

// ms converts a duration to fractional milliseconds for the report.
func ms(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

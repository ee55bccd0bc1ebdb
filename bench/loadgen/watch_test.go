package main

import (
	"slices"
	"testing"
	"time"
)

func TestSummarizeFanout(t *testing.T) {
	tests := []struct {
		name      string
		logs      []watcherLog
		events    int
		delivered int64
		allSeen   []time.Duration
		lastRecv  int64
	}{
		{
			name:   "no watchers",
			events: 2,
		},
		{
			name: "every watcher saw everything: latency is to the last one",
			logs: []watcherLog{
				{Recv: []int64{110, 220}, Sent: []int64{100, 200}},
				{Recv: []int64{130, 205}, Sent: []int64{100, 200}},
			},
			events: 2, delivered: 4, allSeen: []time.Duration{30, 20}, lastRecv: 220,
		},
		{
			name: "an event one watcher missed counts as delivered but not all-seen",
			logs: []watcherLog{
				{Recv: []int64{110, 0}, Sent: []int64{100, 0}},
				{Recv: []int64{120, 250}, Sent: []int64{100, 200}},
			},
			events: 2, delivered: 3, allSeen: []time.Duration{20}, lastRecv: 250,
		},
		{
			name:   "nothing delivered",
			logs:   []watcherLog{{Recv: []int64{0}, Sent: []int64{0}}},
			events: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarizeFanout(tt.logs, tt.events)
			if got.Delivered != tt.delivered || got.LastRecv != tt.lastRecv || !slices.Equal(got.AllSeen, tt.allSeen) {
				t.Errorf("summarizeFanout = %+v, want delivered %d allSeen %v lastRecv %d", got, tt.delivered, tt.allSeen, tt.lastRecv)
			}
		})
	}
}

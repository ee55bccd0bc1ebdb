package main

import (
	"context"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

func TestScratchFake(t *testing.T) {
	cs := fake.NewClientset()
	cfg := config{Namespace: "loadgen", Duration: 300 * time.Millisecond, Scenarios: allScenarios(), Concurrency: []int{1, 4},
		MaxRequests: 2000, Watchers: 5, WatchEvents: 20, ServerPID: os.Getpid()}
	r := loadRunner{cfg: cfg, cs: cs, proc: procFS{Root: "/proc"}, log: os.Stderr}
	res, err := r.runScenarios(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	writeTable(os.Stdout, report{Server: "fake", Results: res})
}

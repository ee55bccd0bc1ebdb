package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteTableAndJSON(t *testing.T) {
	cpu := 0.125
	rep := report{
		Server: "https://127.0.0.1:6443", ContentType: contentTypeJSON, Started: time.Unix(0, 0).UTC(),
		Coldstart: &coldstartResult{Command: "kastle server", PID: 7, ReadySeconds: 0.4, KubeconfigSeconds: 0.2, ReadyPolls: 40, RSSReadyKiB: 50000},
		Results: []result{
			{Scenario: "get", Concurrency: 1, Requests: 1000, PerSecond: 100, P50Ms: 1.5, P99Ms: 4, CPUMsPerRequest: &cpu},
			{Scenario: "watch", Concurrency: 100, Requests: 50000, Errors: 2, Note: "500 creates", FirstError: "boom"},
		},
	}
	var out strings.Builder
	if err := writeTable(&out, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scenario", "req/s", "p99 ms", "get", "1000", "100.0", "1.50", "0.125", "watch: 500 creates",
		"watch c=100 first error: boom", "/readyz 200 after 0.400s (40 polls)", "RSS at ready 50000 KiB"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}

	path := filepath.Join(t.TempDir(), "out.json")
	if err := writeJSON(path, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != 2 || *back.Results[0].CPUMsPerRequest != cpu || back.Results[1].CPUMsPerRequest != nil ||
		back.Coldstart.RSSReadyKiB != 50000 {
		t.Errorf("JSON round trip = %+v", back)
	}
}

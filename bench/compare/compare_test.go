package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(config) bool
	}{
		{name: "defaults", check: func(c config) bool { return c.Rounds == 2 && c.Duration == 5*time.Second && c.Concurrency == "1,8,32" }},
		{name: "set", args: []string{"--rounds", "3", "--duration", "2s", "--anchor-bin", "/x"}, check: func(c config) bool { return c.Rounds == 3 && c.Duration == 2*time.Second && c.AnchorBin == "/x" }},
		{name: "no rounds", args: []string{"--rounds", "0"}, wantErr: "--rounds 0"},
		{name: "negative duration", args: []string{"--duration", "-1s"}, wantErr: "--duration"},
		{name: "extra argument", args: []string{"now"}, wantErr: `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("parseFlags(%q) = %+v, %v", tt.args, c, err)
			}
		})
	}
}

func report(t *testing.T, ready float64, rss, after int64, rows ...result) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"coldstart": map[string]any{"readySeconds": ready, "rssReadyKiB": rss, "rssAfterLoadKiB": after},
		"results":   rows,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cpu(v float64) *float64 { return &v }

func TestParseReport(t *testing.T) {
	r, err := parseReport(report(t, 1.5, 2048, 4096, result{Scenario: "get", Concurrency: 8, PerSecond: 100, CPUMsPerRequest: cpu(0.5)}))
	if err != nil {
		t.Fatal(err)
	}
	if r.Coldstart.ReadySeconds != 1.5 || r.Coldstart.RSSAfterLoadKiB != 4096 || len(r.Results) != 1 || *r.Results[0].CPUMsPerRequest != 0.5 {
		t.Fatalf("parsed %+v", r)
	}
	for _, bad := range []string{`{`, `{"results":[]}`} {
		if _, err := parseReport([]byte(bad)); err == nil {
			t.Errorf("parseReport(%s) succeeded", bad)
		}
	}
}

func TestSummarize(t *testing.T) {
	mk := func(tgt string, round int, format string, ready float64, rps, cpuMs float64) runReport {
		r, err := parseReport(report(t, ready, 100*1024, 200*1024, result{Scenario: "list", Concurrency: 32, PerSecond: rps, CPUMsPerRequest: cpu(cpuMs)}))
		if err != nil {
			t.Fatal(err)
		}
		r.Target, r.Round, r.Format = tgt, round, format
		return r
	}
	runs := []runReport{
		mk("anchor", 1, "json", 10, 100, 6), mk("kastle", 1, "json", 1, 300, 2),
		mk("anchor", 2, "json", 12, 100, 6), mk("kastle", 2, "json", 1, 200, 1.5),
		mk("anchor", 1, "protobuf", 10, 50, 1), mk("kastle", 1, "protobuf", 1, 150, 0.25),
	}
	s := summarize(runs, "anchor", "kastle")
	want := map[string][3]float64{ // ratio, min, max
		"start to ready, s":             {3.0 / 32, 1.0 / 12, 0.1},
		"RSS at ready, MiB":             {1, 1, 1},
		"RSS after load, MiB":           {1, 1, 1},
		"list json c=32 req/s":          {2.5, 2, 3},
		"list json c=32 cpu ms/req":     {1.75 / 6, 0.25, 1.0 / 3},
		"list protobuf c=32 req/s":      {3, 3, 3},
		"list protobuf c=32 cpu ms/req": {0.25, 0.25, 0.25},
	}
	if s.Rounds != 2 || len(s.Figures) != len(want) {
		t.Fatalf("rounds %d, %d figures, want 2 and %d: %+v", s.Rounds, len(s.Figures), len(want), s.Figures)
	}
	for _, f := range s.Figures {
		w, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected figure %q", f.Name)
			continue
		}
		for i, got := range []float64{f.Ratio, f.Min, f.Max} {
			if math.Abs(got-w[i]) > 1e-9 {
				t.Errorf("%s: [ratio min max][%d] = %v, want %v", f.Name, i, got, w[i])
			}
		}
	}
	var out bytes.Buffer
	if err := writeSummary(&out, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "list json c=32 req/s") || !strings.Contains(out.String(), "2.5") {
		t.Errorf("table lacks the list row:\n%s", out.String())
	}
	path := filepath.Join(t.TempDir(), "out.json")
	if err := writeJSON(path, s, runs); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("JSON output does not parse: %v", err)
	}
}

func TestFigureWithoutBothTargets(t *testing.T) {
	f := figure{Anchor: []float64{1}}
	f.finish()
	if !math.IsNaN(f.Ratio) || !math.IsNaN(f.Min) || num(f.Ratio) != "-" {
		t.Fatalf("ratio without kastle values: %+v", f)
	}
}

func TestShellJoinRoundTrips(t *testing.T) {
	args := []string{"/a b/start.sh", "it's", "", "plain-1.2:3", "$HOME", "a\"b"}
	script := "for a in " + shellJoin(args...) + "; do printf '[%s]' \"$a\"; done"
	got, err := exec.Command("/bin/sh", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for _, a := range args {
		want += "[" + a + "]"
	}
	if string(got) != want {
		t.Fatalf("the shell saw %s, want %s", got, want)
	}
}

func TestFreePortAndMachine(t *testing.T) {
	p, err := freePort()
	if err != nil || p <= 0 || p > 65535 {
		t.Fatalf("freePort() = %d, %v", p, err)
	}
	if m := machine(); !strings.Contains(m, "logical CPUs") {
		t.Fatalf("machine() = %q", m)
	}
	if la := loadAverage(); la == "" {
		t.Fatal("empty load average")
	}
}

func TestPassesFormats(t *testing.T) {
	ps := passes("1,8", time.Second, false)
	if len(ps) != 2 || ps[0].Format != "json" || ps[1].Format != "protobuf" || !strings.Contains(strings.Join(ps[1].Args, " "), "--protobuf") {
		t.Fatalf("passes = %+v", ps)
	}
	for _, p := range ps {
		if slices.Contains(p.Args, "--disable-compression") {
			t.Fatalf("compression disabled by default: %+v", p)
		}
	}
	for _, p := range passes("1,8", time.Second, true) {
		if !slices.Contains(p.Args, "--disable-compression") {
			t.Fatalf("--disable-compression not passed on: %+v", p)
		}
	}
}

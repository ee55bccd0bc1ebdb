package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, c config)
		wantErr string // substring; "" means success
	}{
		{
			name: "defaults",
			args: []string{"--kubeconfig", "/k"},
			check: func(t *testing.T, c config) {
				if c.Mode != modeRun || c.Namespace != "loadgen" || c.Duration != 10*time.Second ||
					!slices.Equal(c.Scenarios, allScenarios()) || !slices.Equal(c.Concurrency, []int{1, 8, 32}) ||
					c.Protobuf || c.JSONOut != "" || c.ServerPID != 0 || c.Watchers != 100 || c.WatchEvents != 500 || c.NoCleanup || c.DisableCompression {
					t.Errorf("defaults = %+v", c)
				}
			},
		},
		{
			name: "everything set",
			args: []string{"--kubeconfig=/k", "--namespace", "perf", "--duration", "2s", "--scenarios", " get, list ",
				"--concurrency", "4,2", "--protobuf", "--json-out", "/tmp/o.json", "--server-pid", "99", "--max-requests", "7", "--no-cleanup", "--disable-compression"},
			check: func(t *testing.T, c config) {
				if c.Namespace != "perf" || c.Duration != 2*time.Second || !slices.Equal(c.Scenarios, []string{"get", "list"}) ||
					!slices.Equal(c.Concurrency, []int{4, 2}) || !c.Protobuf || c.JSONOut != "/tmp/o.json" ||
					c.ServerPID != 99 || c.MaxRequests != 7 || !c.NoCleanup || !c.DisableCompression {
					t.Errorf("parsed = %+v", c)
				}
			},
		},
		{
			name: "coldstart",
			args: []string{"coldstart", "--cmd", "kastle server --data-dir /d", "--kubeconfig", "/d/admin.conf", "--scenarios", ""},
			check: func(t *testing.T, c config) {
				if c.Mode != modeColdstart || c.Cmd != "kastle server --data-dir /d" || len(c.Scenarios) != 0 || c.ReadyTimeout != time.Minute {
					t.Errorf("parsed = %+v", c)
				}
			},
		},
		{name: "kubeconfig required", args: nil, wantErr: "--kubeconfig is required"},
		{name: "unknown scenario", args: []string{"--kubeconfig", "/k", "--scenarios", "get,delete"}, wantErr: `unknown scenario "delete"`},
		{name: "repeated scenario", args: []string{"--kubeconfig", "/k", "--scenarios", "get,get"}, wantErr: "given twice"},
		{name: "no scenarios in run mode", args: []string{"--kubeconfig", "/k", "--scenarios", ""}, wantErr: "nothing to run"},
		{name: "zero concurrency", args: []string{"--kubeconfig", "/k", "--concurrency", "1,0"}, wantErr: `"0" is not a worker count`},
		{name: "huge concurrency", args: []string{"--kubeconfig", "/k", "--concurrency", "5000"}, wantErr: "not a worker count"},
		{name: "empty concurrency", args: []string{"--kubeconfig", "/k", "--concurrency", " , "}, wantErr: "empty list"},
		{name: "bad namespace", args: []string{"--kubeconfig", "/k", "--namespace", "Load_Gen"}, wantErr: "--namespace"},
		{name: "namespace too long for the list suffix", args: []string{"--kubeconfig", "/k", "--namespace", strings.Repeat("a", 60)}, wantErr: "--namespace"},
		{name: "zero duration", args: []string{"--kubeconfig", "/k", "--duration", "0s"}, wantErr: "--duration"},
		{name: "bad watchers", args: []string{"--kubeconfig", "/k", "--watchers", "0"}, wantErr: "--watchers"},
		{name: "coldstart needs cmd", args: []string{"coldstart", "--kubeconfig", "/k"}, wantErr: "--cmd is required"},
		{name: "server-pid is run-mode only", args: []string{"coldstart", "--cmd", "x", "--kubeconfig", "/k", "--server-pid", "3"}, wantErr: "server-pid"},
		{name: "negative rate", args: []string{"--kubeconfig", "/k", "--rate", "-1"}, wantErr: "--rate"},
		{name: "rss-every needs server-pid", args: []string{"--kubeconfig", "/k", "--rss-every", "30s"}, wantErr: "--rss-every"},
		{name: "rate and rss-every", args: []string{"--kubeconfig", "/k", "--rate", "100", "--rss-every", "30s", "--server-pid", "9"},
			check: func(t *testing.T, c config) {
				if c.Rate != 100 || c.RSSEvery != 30*time.Second {
					t.Errorf("rate %v, rss-every %v", c.Rate, c.RSSEvery)
				}
			}},
		{name: "stray argument", args: []string{"--kubeconfig", "/k", "extra"}, wantErr: `unexpected argument "extra"`},
		{name: "unknown flag", args: []string{"--kubeconfig", "/k", "--qps", "5"}, wantErr: "qps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags(%q) error = %v, want it to contain %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tt.args, err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseFlagsHelp(t *testing.T) {
	var out strings.Builder
	_, err := parseFlags([]string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "--kubeconfig") && !strings.Contains(out.String(), "-kubeconfig") {
		t.Errorf("help: err %v, output %q", err, out.String())
	}
}

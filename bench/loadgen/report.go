package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"
)

// report is the whole outcome of one invocation, as written by --json-out.
type report struct {
	Server      string           `json:"server"`
	ContentType string           `json:"contentType"`
	Started     time.Time        `json:"started"`
	Coldstart   *coldstartResult `json:"coldstart,omitempty"`
	Results     []result         `json:"results"`
}

// coldstartResult holds the coldstart mode's measurements.
type coldstartResult struct {
	Command string `json:"command"`
	PID     int    `json:"pid"`
	// KubeconfigSeconds is when the kubeconfig first loaded (the server may
	// write it on first start); ReadySeconds when /readyz first answered 200.
	// Both count from just before the command was started.
	KubeconfigSeconds float64 `json:"kubeconfigSeconds"`
	ReadySeconds      float64 `json:"readySeconds"`
	ReadyPolls        int     `json:"readyPolls"`
	RSSReadyKiB       int64   `json:"rssReadyKiB"`
	RSSAfterLoadKiB   int64   `json:"rssAfterLoadKiB,omitempty"`
}

// writeTable prints the human-readable report.
func writeTable(out io.Writer, rep report) error {
	if rep.Server != "" {
		fmt.Fprintf(out, "server %s, %s\n", rep.Server, rep.ContentType)
	}
	if c := rep.Coldstart; c != nil {
		fmt.Fprintf(out, "coldstart: kubeconfig after %.3fs, /readyz 200 after %.3fs (%d polls), RSS at ready %d KiB",
			c.KubeconfigSeconds, c.ReadySeconds, c.ReadyPolls, c.RSSReadyKiB)
		if c.RSSAfterLoadKiB > 0 {
			fmt.Fprintf(out, ", after load %d KiB", c.RSSAfterLoadKiB)
		}
		fmt.Fprintln(out)
	}
	if len(rep.Results) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tconcurrency\trequests\treq/s\tp50 ms\tp99 ms\terrors\tcpu ms/req\t")
	for _, r := range rep.Results {
		cpu := "-"
		if r.CPUMsPerRequest != nil {
			cpu = strconv.FormatFloat(*r.CPUMsPerRequest, 'f', 3, 64)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%d\t%s\t\n",
			r.Scenario, r.Concurrency, r.Requests, r.PerSecond, r.P50Ms, r.P99Ms, r.Errors, cpu)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rep.Results {
		if r.Note != "" {
			fmt.Fprintf(out, "%s: %s\n", r.Scenario, r.Note)
		}
		if r.FirstError != "" {
			fmt.Fprintf(out, "%s c=%d first error: %s\n", r.Scenario, r.Concurrency, r.FirstError)
		}
	}
	return nil
}

// writeJSON writes the report to path, indented.
func writeJSON(path string, rep report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

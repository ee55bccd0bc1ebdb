package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"text/tabwriter"
)

// runReport is one loadgen coldstart invocation against one target, as read
// from its --json-out report.
type runReport struct {
	Target      string   `json:"target"`
	Round       int      `json:"round"`
	Format      string   `json:"format"`
	LoadAverage string   `json:"loadAverage"`
	Coldstart   cold     `json:"coldstart"`
	Results     []result `json:"results"`
}

// cold is the part of loadgen's coldstart result compare uses.
type cold struct {
	ReadySeconds    float64 `json:"readySeconds"`
	RSSReadyKiB     int64   `json:"rssReadyKiB"`
	RSSAfterLoadKiB int64   `json:"rssAfterLoadKiB"`
}

// result is the part of one loadgen result row compare uses.
type result struct {
	Scenario        string   `json:"scenario"`
	Concurrency     int      `json:"concurrency"`
	Requests        int64    `json:"requests"`
	Errors          int64    `json:"errors"`
	PerSecond       float64  `json:"perSecond"`
	CPUMsPerRequest *float64 `json:"cpuMsPerRequest"`
}

// parseReport reads a loadgen --json-out report of coldstart mode.
func parseReport(b []byte) (runReport, error) {
	var r runReport
	if err := json.Unmarshal(b, &r); err != nil {
		return r, err
	}
	if r.Coldstart.ReadySeconds <= 0 {
		return r, fmt.Errorf("no coldstart result: not a coldstart report")
	}
	return r, nil
}

// figure is one measured quantity of both targets: the values of each
// round, their means, and kastle/anchor of the means with the lowest and
// highest per-round ratio (rounds pair the i-th anchor run with the i-th
// kastle run).
type figure struct {
	Name   string    `json:"name"`
	Anchor []float64 `json:"anchor"`
	Kastle []float64 `json:"kastle"`
	Ratio  float64   `json:"ratio"` // mean(kastle) / mean(anchor); NaN when not measurable
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
}

// summary is compare's output.
type summary struct {
	Machine string   `json:"machine"`
	Rounds  int      `json:"rounds"`
	Figures []figure `json:"figures"`
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// finish computes the ratio and its per-round range.
func (f *figure) finish() {
	f.Ratio, f.Min, f.Max = mean(f.Kastle)/mean(f.Anchor), math.NaN(), math.NaN()
	for i := 0; i < len(f.Anchor) && i < len(f.Kastle); i++ {
		r := f.Kastle[i] / f.Anchor[i]
		if math.IsNaN(f.Min) || r < f.Min {
			f.Min = r
		}
		if math.IsNaN(f.Max) || r > f.Max {
			f.Max = r
		}
	}
}

// summarize turns the runs into figures: start time and RSS first, then per
// (format, scenario, concurrency) the throughput and the server CPU per
// request. A step with errors still counts; its errors show in the runs.
func summarize(runs []runReport, anchor, kastle string) summary {
	var s summary
	idx := map[string]int{}
	add := func(name, tgt string, v float64) {
		i, ok := idx[name]
		if !ok {
			i = len(s.Figures)
			idx[name] = i
			s.Figures = append(s.Figures, figure{Name: name})
		}
		switch tgt {
		case anchor:
			s.Figures[i].Anchor = append(s.Figures[i].Anchor, v)
		case kastle:
			s.Figures[i].Kastle = append(s.Figures[i].Kastle, v)
		}
	}
	for _, r := range runs {
		s.Rounds = max(s.Rounds, r.Round)
		add("start to ready, s", r.Target, r.Coldstart.ReadySeconds)
		add("RSS at ready, MiB", r.Target, float64(r.Coldstart.RSSReadyKiB)/1024)
	}
	for _, r := range runs {
		if r.Format == "json" && r.Coldstart.RSSAfterLoadKiB > 0 {
			add("RSS after load, MiB", r.Target, float64(r.Coldstart.RSSAfterLoadKiB)/1024)
		}
	}
	for _, r := range runs {
		for _, res := range r.Results {
			key := fmt.Sprintf("%s %s c=%d", res.Scenario, r.Format, res.Concurrency)
			add(key+" req/s", r.Target, res.PerSecond)
			if res.CPUMsPerRequest != nil {
				add(key+" cpu ms/req", r.Target, *res.CPUMsPerRequest)
			}
		}
	}
	for i := range s.Figures {
		s.Figures[i].finish()
	}
	return s
}

// writeSummary prints the figures as a table.
func writeSummary(out io.Writer, s summary) error {
	fmt.Fprintf(out, "machine: %s; %d rounds, alternating anchor, kastle\n", s.Machine, s.Rounds)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "figure\tanchor (mean)\tkastle (mean)\tkastle/anchor\tper-round range\t")
	for _, f := range s.Figures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s–%s\t\n", f.Name, num(mean(f.Anchor)), num(mean(f.Kastle)), num(f.Ratio), num(f.Min), num(f.Max))
	}
	return tw.Flush()
}

// num prints a figure with three significant digits, "-" when unknown.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf("%.3g", v)
}

// writeJSON writes the summary and every run.
func writeJSON(path string, s summary, runs []runReport) error {
	// NaN is not JSON: unknown ratios become null.
	type fig struct {
		Name   string    `json:"name"`
		Anchor []float64 `json:"anchor"`
		Kastle []float64 `json:"kastle"`
		Ratio  *float64  `json:"ratio"`
		Min    *float64  `json:"min"`
		Max    *float64  `json:"max"`
	}
	ptr := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	figs := make([]fig, len(s.Figures))
	for i, f := range s.Figures {
		figs[i] = fig{f.Name, f.Anchor, f.Kastle, ptr(f.Ratio), ptr(f.Min), ptr(f.Max)}
	}
	b, err := json.MarshalIndent(map[string]any{"machine": s.Machine, "rounds": s.Rounds, "figures": figs, "runs": runs}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Scenario names accepted by --scenarios, in their default order.
const (
	scenarioCreate = "create"
	scenarioGet    = "get"
	scenarioList   = "list"
	scenarioUpdate = "update"
	scenarioWatch  = "watch"
)

// allScenarios returns the default --scenarios value, which is also the set
// of valid names. It is a function so that no caller can change the list.
func allScenarios() []string {
	return []string{scenarioCreate, scenarioGet, scenarioList, scenarioUpdate, scenarioWatch}
}

// listNamespaceSuffix names the separate namespace of the list scenario, so
// that objects made by the other scenarios do not change what a list returns.
const listNamespaceSuffix = "-list"

// Mode names: the first argument selects the mode; anything else is "run".
const (
	modeRun       = "run"
	modeColdstart = "coldstart"
)

// config is everything a loadgen invocation was asked to do. parseFlags
// returns it validated; the zero value is not usable.
type config struct {
	Mode        string
	Kubeconfig  string
	Namespace   string
	Duration    time.Duration // per (scenario, concurrency) step
	Scenarios   []string
	Concurrency []int
	Protobuf    bool
	JSONOut     string
	ServerPID   int   // 0: do not measure CPU per request
	MaxRequests int64 // per step, on top of Duration
	Watchers    int
	WatchEvents int
	// NoCleanup leaves the namespaces behind (for a server that is thrown
	// away after the run, e.g. one without a namespace controller).
	NoCleanup bool
	// Rate caps each step at this many requests per second over all its
	// workers (0: as fast as they go), for steady loads below the peak.
	Rate float64
	// RSSEvery, with ServerPID, samples the server's RSS this often while
	// the scenarios run (0: do not), for memory-over-time curves.
	RSSEvery time.Duration
	// DisableCompression stops client-go asking for gzip (kubectl's
	// --disable-compression), for runs that leave out the client's
	// decompression.
	DisableCompression bool

	// Coldstart mode only.
	Cmd          string
	ReadyTimeout time.Duration
}

// parseFlags parses the command line (without the program name). Usage and
// flag errors go to out.
func parseFlags(args []string, out io.Writer) (config, error) {
	cfg := config{Mode: modeRun}
	if len(args) > 0 && args[0] == modeColdstart {
		cfg.Mode, args = modeColdstart, args[1:]
	}
	fs := flag.NewFlagSet("loadgen "+cfg.Mode, flag.ContinueOnError)
	fs.SetOutput(out)
	var scenarios, conc string
	fs.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "kubeconfig of the server under test (required)")
	fs.StringVar(&cfg.Namespace, "namespace", "loadgen", "namespace to create, use and delete (the list scenario uses NAMESPACE"+listNamespaceSuffix+")")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of each (scenario, concurrency) step")
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios(), ","), "comma-separated scenarios to run, in order; empty for none (coldstart only)")
	fs.StringVar(&conc, "concurrency", "1,8,32", "comma-separated worker counts; each scenario except watch runs once per count")
	fs.BoolVar(&cfg.Protobuf, "protobuf", false, "send and accept application/vnd.kubernetes.protobuf instead of JSON")
	fs.BoolVar(&cfg.DisableCompression, "disable-compression", false, "do not ask for gzip-compressed responses (client-go asks by default, and servers compress bodies over 128 KiB)")
	fs.StringVar(&cfg.JSONOut, "json-out", "", "also write the results as JSON to this file")
	fs.Int64Var(&cfg.MaxRequests, "max-requests", 1_000_000, "upper bound on requests per step")
	fs.Float64Var(&cfg.Rate, "rate", 0, "at most this many requests per second in each step, over all workers (0: no limit)")
	fs.IntVar(&cfg.Watchers, "watchers", 100, "watch scenario: number of concurrent watchers")
	fs.IntVar(&cfg.WatchEvents, "watch-events", 500, "watch scenario: number of ConfigMaps the writer creates")
	fs.BoolVar(&cfg.NoCleanup, "no-cleanup", false, "leave the namespaces and their ConfigMaps behind (for a server thrown away after the run)")
	if cfg.Mode == modeColdstart {
		fs.StringVar(&cfg.Cmd, "cmd", "", "server command line, run with /bin/sh -c (required)")
		fs.DurationVar(&cfg.ReadyTimeout, "ready-timeout", 60*time.Second, "give up when /readyz has not answered 200 by then")
	} else {
		fs.IntVar(&cfg.ServerPID, "server-pid", 0, "pid of the server, to report CPU time per request (0: do not)")
		fs.DurationVar(&cfg.RSSEvery, "rss-every", 0, "with --server-pid: log the server's RSS at this interval during the run (0: do not)")
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "usage:\n  loadgen --kubeconfig PATH [flags]\n  loadgen coldstart --cmd CMD --kubeconfig PATH [flags]\n\nflags of %s:\n", fs.Name())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if cfg.Scenarios, err = parseScenarios(scenarios); err != nil {
		return config{}, err
	}
	if cfg.Concurrency, err = parseConcurrency(conc); err != nil {
		return config{}, err
	}
	return cfg, cfg.validate()
}

// validate checks the ranges parseFlags cannot express as flag types.
func (c config) validate() error {
	var errs []error
	if c.Kubeconfig == "" {
		errs = append(errs, errors.New("--kubeconfig is required"))
	}
	if msgs := validation.IsDNS1123Label(c.Namespace + listNamespaceSuffix); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--namespace %q: %s", c.Namespace, strings.Join(msgs, "; ")))
	}
	if c.Duration <= 0 || c.Duration > time.Hour {
		errs = append(errs, fmt.Errorf("--duration %v: want more than 0 and at most 1h", c.Duration))
	}
	if c.MaxRequests < 1 {
		errs = append(errs, fmt.Errorf("--max-requests %d: want at least 1", c.MaxRequests))
	}
	if c.Watchers < 1 || c.Watchers > 1000 {
		errs = append(errs, fmt.Errorf("--watchers %d: want 1..1000", c.Watchers))
	}
	if c.WatchEvents < 1 || c.WatchEvents > 100_000 {
		errs = append(errs, fmt.Errorf("--watch-events %d: want 1..100000", c.WatchEvents))
	}
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("--rate %v: want 0 or more", c.Rate))
	}
	if c.RSSEvery < 0 || (c.RSSEvery > 0 && c.ServerPID == 0) {
		errs = append(errs, fmt.Errorf("--rss-every %v: want 0, or more with --server-pid", c.RSSEvery))
	}
	if c.ServerPID < 0 {
		errs = append(errs, fmt.Errorf("--server-pid %d: want a pid or 0", c.ServerPID))
	}
	switch c.Mode {
	case modeColdstart:
		if strings.TrimSpace(c.Cmd) == "" {
			errs = append(errs, errors.New("--cmd is required in coldstart mode"))
		}
		if c.ReadyTimeout <= 0 {
			errs = append(errs, fmt.Errorf("--ready-timeout %v: want more than 0", c.ReadyTimeout))
		}
	default:
		if len(c.Scenarios) == 0 {
			errs = append(errs, errors.New("--scenarios is empty: nothing to run"))
		}
	}
	return errors.Join(errs...)
}

// parseScenarios splits a comma-separated scenario list, rejecting unknown
// and repeated names. An empty string yields no scenarios.
func parseScenarios(s string) ([]string, error) {
	var out []string
	for _, name := range splitList(s) {
		if !slices.Contains(allScenarios(), name) {
			return nil, fmt.Errorf("--scenarios: unknown scenario %q (known: %s)", name, strings.Join(allScenarios(), ","))
		}
		if slices.Contains(out, name) {
			return nil, fmt.Errorf("--scenarios: %q given twice", name)
		}
		out = append(out, name)
	}
	return out, nil
}

// parseConcurrency splits a comma-separated list of worker counts (1..1024).
func parseConcurrency(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("--concurrency: %q is not a worker count in 1..1024", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--concurrency: empty list")
	}
	return out, nil
}

// splitList splits on commas and drops surrounding spaces and empty items.
func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

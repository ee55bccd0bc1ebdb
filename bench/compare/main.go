package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is what one compare invocation was asked to do.
type config struct {
	Rounds      int
	Duration    time.Duration
	Concurrency string
	AnchorBin   string // directory with etcd and kube-apiserver; "" builds them
	Kastle      string // kastle binary; "" builds ./cmd/kastle
	Work        string // scratch directory; "" makes a temporary one
	JSONOut     string
	Repo        string // kastle checkout (the current directory)
	// DisableCompression makes the load generator refuse gzip, leaving out
	// both servers' compression and its own decompression.
	DisableCompression bool
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.IntVar(&c.Rounds, "rounds", 2, "rounds; each runs the anchor, then kastle")
	fs.DurationVar(&c.Duration, "duration", 5*time.Second, "loadgen --duration: length of each (scenario, concurrency) step")
	fs.StringVar(&c.Concurrency, "concurrency", "1,8,32", "loadgen --concurrency")
	fs.BoolVar(&c.DisableCompression, "disable-compression", false, "loadgen --disable-compression: no gzip-compressed responses (client-go asks for them by default)")
	fs.StringVar(&c.AnchorBin, "anchor-bin", "", "directory holding the anchor's etcd and kube-apiserver (default: run bench/anchor/build.sh)")
	fs.StringVar(&c.Kastle, "kastle", "", "kastle binary (default: build ./cmd/kastle)")
	fs.StringVar(&c.Work, "work", "", "scratch directory for builds, data and run reports (default: a temporary one, removed afterwards)")
	fs.StringVar(&c.JSONOut, "json-out", "", "also write every run and the ratios as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.Rounds < 1 || c.Rounds > 20 {
		return c, fmt.Errorf("--rounds %d: want 1..20", c.Rounds)
	}
	if c.Duration <= 0 || c.Duration > 10*time.Minute {
		return c, fmt.Errorf("--duration %v: want more than 0 and at most 10m", c.Duration)
	}
	return c, nil
}

func run(args []string, out, log io.Writer) int {
	cfg, err := parseFlags(args, log)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(log, "compare:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := compare(ctx, cfg, out, log); err != nil {
		fmt.Fprintln(log, "compare:", err)
		return 1
	}
	return 0
}

// target is one of the two servers under comparison.
type target struct {
	Name string
	// command returns the shell command that starts a cold server on port
	// and the kubeconfig it serves with; state is the target's directory.
	command func(state string, port int) (cmd, kubeconfig string, err error)
}

// passes are the loadgen invocations of one run of one target.
func passes(concurrency string, d time.Duration, disableCompression bool) []pass {
	ps := []pass{
		{Format: "json", Args: []string{"--scenarios", "create,get,list,update,watch", "--concurrency", concurrency, "--duration", d.String()}},
		{Format: "protobuf", Args: []string{"--protobuf", "--scenarios", "get,list", "--concurrency", concurrency, "--duration", d.String()}},
	}
	if disableCompression {
		for i := range ps {
			ps[i].Args = append(ps[i].Args, "--disable-compression")
		}
	}
	return ps
}

// pass is one loadgen coldstart invocation.
type pass struct {
	Format string
	Args   []string
}

func compare(ctx context.Context, cfg config, out, log io.Writer) error {
	var err error
	if cfg.Repo, err = os.Getwd(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(cfg.Repo, "bench/anchor/start.sh")); err != nil {
		return fmt.Errorf("run from the root of a kastle checkout: %w", err)
	}
	if cfg.Work == "" {
		if cfg.Work, err = os.MkdirTemp("", "kastle-compare-"); err != nil {
			return err
		}
		defer os.RemoveAll(cfg.Work)
	}
	loadgen := filepath.Join(cfg.Work, "loadgen")
	if err := goBuild(ctx, cfg.Repo, loadgen, "./bench/loadgen", log); err != nil {
		return err
	}
	if cfg.Kastle == "" {
		cfg.Kastle = filepath.Join(cfg.Work, "kastle")
		if err := goBuild(ctx, cfg.Repo, cfg.Kastle, "./cmd/kastle", log); err != nil {
			return err
		}
	}
	if cfg.AnchorBin == "" {
		fmt.Fprintln(log, "compare: building the anchor (bench/anchor/build.sh; 20-40 minutes the first time)")
		b, err := commandOutput(ctx, cfg.Repo, log, filepath.Join(cfg.Repo, "bench/anchor/build.sh"))
		if err != nil {
			return fmt.Errorf("bench/anchor/build.sh: %w", err)
		}
		cfg.AnchorBin = strings.TrimSpace(b)
	}
	targets := []target{anchorTarget(cfg), kastleTarget(cfg)}
	var runs []runReport
	for round := 1; round <= cfg.Rounds; round++ {
		for _, t := range targets {
			for _, p := range passes(cfg.Concurrency, cfg.Duration, cfg.DisableCompression) {
				if err := ctx.Err(); err != nil {
					return err
				}
				r, err := runPass(ctx, cfg, loadgen, t, p, round, log)
				if err != nil {
					return fmt.Errorf("round %d, %s, %s: %w", round, t.Name, p.Format, err)
				}
				runs = append(runs, r)
			}
		}
	}
	s := summarize(runs, targets[0].Name, targets[1].Name)
	s.Machine = machine()
	if err := writeSummary(out, s); err != nil {
		return err
	}
	if cfg.JSONOut != "" {
		return writeJSON(cfg.JSONOut, s, runs)
	}
	return nil
}

func anchorTarget(cfg config) target {
	return target{Name: "anchor", command: func(state string, port int) (string, string, error) {
		ep, err := freePort()
		if err != nil {
			return "", "", err
		}
		pp, err := freePort()
		if err != nil {
			return "", "", err
		}
		cmd := shellJoin(filepath.Join(cfg.Repo, "bench/anchor/start.sh"), cfg.AnchorBin, state,
			fmt.Sprint(port), fmt.Sprint(ep), fmt.Sprint(pp))
		return cmd, filepath.Join(state, "admin.conf"), nil
	}}
}

func kastleTarget(cfg config) target {
	return target{Name: "kastle", command: func(state string, port int) (string, string, error) {
		// A cold start: an empty data dir, so kastle makes its PKI and etcd.
		data := filepath.Join(state, "data")
		if err := os.RemoveAll(data); err != nil {
			return "", "", err
		}
		cmd := shellJoin(cfg.Kastle, "server", "--data-dir", data, "--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(port)) +
			" 2>" + shellQuote(filepath.Join(state, "kastle.log"))
		return cmd, filepath.Join(data, "admin.conf"), nil
	}}
}

// runPass starts t cold through loadgen's coldstart mode and returns what
// loadgen measured.
func runPass(ctx context.Context, cfg config, loadgen string, t target, p pass, round int, log io.Writer) (runReport, error) {
	state := filepath.Join(cfg.Work, "state", t.Name)
	if err := os.MkdirAll(state, 0o700); err != nil {
		return runReport{}, err
	}
	port, err := freePort()
	if err != nil {
		return runReport{}, err
	}
	cmdline, kubeconfig, err := t.command(state, port)
	if err != nil {
		return runReport{}, err
	}
	if t.Name == "kastle" {
		// The kubeconfig of the previous run must not be mistaken for this one's.
		_ = os.Remove(kubeconfig)
	}
	report := filepath.Join(cfg.Work, fmt.Sprintf("%s-%d-%s.json", t.Name, round, p.Format))
	// The server and its data are thrown away after the run (and the
	// anchor has no namespace controller to finish a namespace deletion).
	args := append([]string{"coldstart", "--cmd", cmdline, "--kubeconfig", kubeconfig, "--ready-timeout", "120s", "--no-cleanup", "--json-out", report}, p.Args...)
	fmt.Fprintf(log, "compare: round %d: %s, %s (load average %s)\n", round, t.Name, p.Format, loadAverage())
	cmd := exec.CommandContext(ctx, loadgen, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return runReport{}, fmt.Errorf("loadgen: %w", err)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		return runReport{}, err
	}
	r, err := parseReport(b)
	if err != nil {
		return runReport{}, fmt.Errorf("%s: %w", report, err)
	}
	r.Target, r.Round, r.Format, r.LoadAverage = t.Name, round, p.Format, loadAverage()
	return r, nil
}

func goBuild(ctx context.Context, repo, out, pkg string, log io.Writer) error {
	fmt.Fprintf(log, "compare: go build %s\n", pkg)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir, cmd.Stdout, cmd.Stderr = repo, log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

func commandOutput(ctx context.Context, dir string, log io.Writer, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Stderr = dir, log
	b, err := cmd.Output()
	return string(b), err
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the server binds it; the run then fails and says so.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// shellJoin quotes args for /bin/sh -c.
func shellJoin(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// loadAverage returns the 1-, 5- and 15-minute load averages, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// machine names the CPU and core count, for the report.
func machine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	model, cores := "unknown CPU", 0
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			model = strings.TrimSpace(v)
			cores++
		}
	}
	return fmt.Sprintf("%s, %d logical CPUs", model, cores)
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process exit: it parses args, runs the selected
// mode, prints the table to out and progress to log, and returns the exit
// code. SIGINT and SIGTERM end the load early; cleanup still runs.
func run(args []string, out, log io.Writer) int {
	cfg, err := parseFlags(args, log)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(log, "loadgen:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var rep report
	if cfg.Mode == modeColdstart {
		rep, err = coldstart(ctx, cfg, log)
	} else {
		rep = report{Started: time.Now(), ContentType: contentType(cfg.Protobuf)}
		rep.Server, rep.Results, err = runLoad(ctx, cfg, log)
	}
	code := 0
	if err != nil {
		fmt.Fprintln(log, "loadgen:", err)
		code = 1
	}
	if werr := writeTable(out, rep); werr != nil {
		fmt.Fprintln(log, "loadgen:", werr)
		code = 1
	}
	if cfg.JSONOut != "" {
		if werr := writeJSON(cfg.JSONOut, rep); werr != nil {
			fmt.Fprintln(log, "loadgen:", werr)
			code = 1
		}
	}
	return code
}

// runLoad connects with the kubeconfig and runs the configured scenarios. It
// returns the server URL and whatever results were gathered, even on error.
func runLoad(ctx context.Context, cfg config, log io.Writer) (string, []result, error) {
	rc, err := loadRESTConfig(cfg.Kubeconfig, cfg.Protobuf, cfg.DisableCompression)
	if err != nil {
		return "", nil, err
	}
	cs, err := newClient(rc)
	if err != nil {
		return rc.Host, nil, err
	}
	r := loadRunner{cfg: cfg, cs: cs, proc: procFS{Root: "/proc"}, log: log}
	res, err := r.runScenarios(ctx)
	return rc.Host, res, err
}

// contentType names the wire format of a run for the report.
func contentType(protobuf bool) string {
	if protobuf {
		return contentTypeProtobuf
	}
	return contentTypeJSON
}

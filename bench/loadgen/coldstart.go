package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// Cold-start polling parameters.
const (
	pollInterval = 5 * time.Millisecond
	probeTimeout = time.Second
	stopTimeout  = 10 * time.Second // SIGTERM → SIGKILL
)

// server is a command started by coldstart mode, in its own process group
// so that it and everything it spawns can be stopped together.
type server struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd.Wait returns
	err    error         // cmd.Wait's result, valid after exited is closed
}

// startServer runs cmdline with /bin/sh -c. Its output goes to logOut so that
// it does not mix with the report.
func startServer(cmdline string, logOut io.Writer) (*server, error) {
	cmd := exec.Command("/bin/sh", "-c", cmdline)
	cmd.Stdout, cmd.Stderr = logOut, logOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %q: %w", cmdline, err)
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
	go func() { s.err = cmd.Wait(); close(s.exited) }()
	return s, nil
}

// stop sends SIGTERM to the server's process group, and SIGKILL if it has not
// exited within stopTimeout. Only the group this program created is signalled.
func (s *server) stop() {
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	}
	// Children that ignored SIGTERM after the shell exited.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// readiness is what waitReady observed.
type readiness struct {
	Kubeconfig time.Duration // since start, until the kubeconfig first loaded
	Ready      time.Duration // since start, until the first 200 from /readyz
	Polls      int
}

// waitReady polls, every pollInterval from start, first until the kubeconfig
// loads and then until GET <server>/readyz answers 200 over TLS with the
// kubeconfig's CA and credentials. It fails when the server exits, ctx ends
// or timeout passes. The kubeconfig is re-read on every failed probe because
// a server writing it on first start may not have finished.
func waitReady(ctx context.Context, srv *server, kubeconfig string, start time.Time, timeout time.Duration) (readiness, error) {
	var rd readiness
	ctx, cancel := context.WithDeadline(ctx, start.Add(timeout))
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		rd.Polls++
		ok, err := probeReady(ctx, kubeconfig)
		if ok {
			rd.Ready = time.Since(start)
			if rd.Kubeconfig == 0 {
				rd.Kubeconfig = rd.Ready
			}
			return rd, nil
		}
		lastErr = err
		if rd.Kubeconfig == 0 && !errors.Is(err, errKubeconfig) {
			rd.Kubeconfig = time.Since(start)
		}
		select {
		case <-srv.exited:
			return rd, fmt.Errorf("server exited before ready: %v (last probe: %v)", srv.err, lastErr)
		case <-ctx.Done():
			return rd, fmt.Errorf("not ready after %v: %w (last probe: %v)", timeout, ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}

// errKubeconfig marks a probe that failed because the kubeconfig could not
// be loaded yet.
var errKubeconfig = errors.New("kubeconfig not loadable")

// probeReady makes one GET /readyz. It reports false with the reason when the
// answer is anything but 200.
func probeReady(ctx context.Context, kubeconfig string) (bool, error) {
	rc, err := loadRESTConfig(kubeconfig, false, false)
	if err != nil {
		return false, fmt.Errorf("%w: %v", errKubeconfig, err)
	}
	rc.Timeout = probeTimeout
	// client-go caches transports by TLS material, so an unchanged kubeconfig
	// reuses one transport (and its connection) across polls.
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return false, fmt.Errorf("%w: %v", errKubeconfig, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(rc.Host, "/")+"/readyz", nil)
	if err != nil {
		return false, fmt.Errorf("%w: host %q: %v", errKubeconfig, rc.Host, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("/readyz: %s", resp.Status)
	}
	return true, nil
}

// coldstart starts the server command, times its readiness, reads the RSS of
// its process tree at ready, runs the configured scenarios against it (with
// CPU per request from its process tree), reads RSS again and stops it.
func coldstart(ctx context.Context, cfg config, logOut io.Writer) (report, error) {
	rep := report{Started: time.Now(), ContentType: contentType(cfg.Protobuf)}
	proc := procFS{Root: "/proc"}
	start := time.Now()
	srv, err := startServer(cfg.Cmd, logOut)
	if err != nil {
		return rep, err
	}
	defer srv.stop()
	rd, err := waitReady(ctx, srv, cfg.Kubeconfig, start, cfg.ReadyTimeout)
	if err != nil {
		return rep, err
	}
	pid := srv.cmd.Process.Pid
	cs := &coldstartResult{
		Command: cfg.Cmd, PID: pid,
		KubeconfigSeconds: rd.Kubeconfig.Seconds(), ReadySeconds: rd.Ready.Seconds(), ReadyPolls: rd.Polls,
	}
	rep.Coldstart = cs
	if cs.RSSReadyKiB, err = proc.treeRSS(pid); err != nil {
		return rep, fmt.Errorf("RSS at ready: %w", err)
	}
	fmt.Fprintf(logOut, "coldstart: ready after %v, RSS %d KiB\n", rd.Ready, cs.RSSReadyKiB)
	if len(cfg.Scenarios) == 0 {
		return rep, nil
	}
	cfg.ServerPID = pid
	rep.Server, rep.Results, err = runLoad(ctx, cfg, logOut)
	if rss, rerr := proc.treeRSS(pid); rerr == nil {
		cs.RSSAfterLoadKiB = rss
	}
	return rep, err
}

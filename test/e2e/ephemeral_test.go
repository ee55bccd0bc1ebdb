package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ephemeral is a running `kastle server --ephemeral` and what it printed.
type ephemeral struct {
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{}
	err  error
	line struct {
		URL        string `json:"url"`
		Kubeconfig string `json:"kubeconfig"`
		DataDir    string `json:"dataDir"`
	}
}

// startEphemeral runs `kastle server --ephemeral` and reads its one JSON
// line, as a pytest or Jest fixture would.
func startEphemeral(t *testing.T) *ephemeral {
	t.Helper()
	e := &ephemeral{log: newLogBuffer(), done: make(chan struct{})}
	e.cmd = exec.Command(env.kastle, "server", "--ephemeral")
	e.cmd.Stderr = e.log
	stdout, err := e.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // only the first line matters; keep draining
			}
		}
		e.err = e.cmd.Wait()
		close(e.done)
	}()
	t.Cleanup(func() {
		// SIGTERM lets it remove its data dir; SIGKILL only if it hangs.
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(stopTimeout):
			_ = e.cmd.Process.Kill()
			<-e.done
		}
		if e.line.DataDir != "" {
			_ = os.RemoveAll(e.line.DataDir)
		}
	})
	select {
	case l := <-lines:
		if err := json.Unmarshal([]byte(l), &e.line); err != nil {
			t.Fatalf("ready line %q: %v", l, err)
		}
	case <-e.done:
		t.Fatalf("kastle server --ephemeral exited: %v\n%s", e.err, e.log.tail(4000))
	case <-time.After(readyTimeout):
		t.Fatalf("no ready line after %s\n%s", readyTimeout, e.log.tail(4000))
	}
	return e
}

// TestServerEphemeral starts two throwaway servers side by side, uses one
// with kubectl through the printed kubeconfig, and checks that SIGTERM
// removes its data dir.
func TestServerEphemeral(t *testing.T) {
	a, b := startEphemeral(t), startEphemeral(t)
	if a.line.URL == b.line.URL || a.line.DataDir == b.line.DataDir {
		t.Fatalf("two ephemeral servers share a URL or data dir: %+v %+v", a.line, b.line)
	}
	if !strings.HasPrefix(a.line.URL, "https://127.0.0.1:") || !strings.HasPrefix(a.line.Kubeconfig, a.line.DataDir) {
		t.Fatalf("unexpected ready line %+v", a.line)
	}
	r := run(t, runOpts{env: []string{"KUBECACHEDIR=" + t.TempDir()}}, env.kubectl, "--kubeconfig", a.line.Kubeconfig, "get", "namespace", "kube-system", "-o", "name")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "namespace/kube-system" {
		t.Fatalf("kubectl through the ephemeral kubeconfig: %s", r)
	}
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.done:
	case <-time.After(stopTimeout):
		t.Fatalf("still running %s after SIGTERM", stopTimeout)
	}
	if a.err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", a.err, a.log.tail(4000))
	}
	if _, err := os.Stat(a.line.DataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data dir %s left behind: %v", a.line.DataDir, err)
	}
	if _, err := os.Stat(b.line.DataDir); err != nil {
		t.Errorf("the other server's data dir went too: %v", err)
	}
}

// TestServerEphemeralRejectsDataDir: the two ways of choosing a data
// dir do not mix.
func TestServerEphemeralRejectsDataDir(t *testing.T) {
	r := run(t, runOpts{}, env.kastle, "server", "--ephemeral", "--data-dir", t.TempDir())
	if r.code == 0 || !strings.Contains(r.stderr, "do not give --data-dir") {
		t.Fatalf("want a refusal, got %s", r)
	}
}

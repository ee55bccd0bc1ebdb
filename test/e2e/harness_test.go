package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Bounds for every wait in the package, so a broken server fails a test
// instead of hanging the run.
const (
	readyTimeout   = 30 * time.Second
	stopTimeout    = 10 * time.Second
	commandTimeout = 90 * time.Second
)

// tools holds what TestMain located once for every test.
type tools struct {
	kastle string // the freshly built server binary
	// tokenFile is the shared server's --token-auth-file (staticTokens).
	tokenFile string
	kubectl   string
	curl      string
	openssl   string
}

// env is filled by TestMain before any test runs and read-only afterwards.
var env struct {
	tools
	shared *server // the server most tests share, each in its own namespace
}

// readyLine matches the one line the server logs when it accepts requests.
var readyLine = regexp.MustCompile(`msg="kastle API server ready" url=(\S+) kubeconfig=("[^"]*"|\S+)`)

// logBuffer collects a process's stderr and reports the ready line once.
type logBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	seen  int // bytes already scanned for the ready line
	ready chan [2]string
	sent  bool
}

func newLogBuffer() *logBuffer { return &logBuffer{ready: make(chan [2]string, 1)} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.sent {
		return len(p), nil
	}
	data := b.buf.Bytes()
	for {
		nl := bytes.IndexByte(data[b.seen:], '\n')
		if nl < 0 {
			break
		}
		line := string(data[b.seen : b.seen+nl])
		b.seen += nl + 1
		if m := readyLine.FindStringSubmatch(line); m != nil {
			b.ready <- [2]string{m[1], strings.Trim(m[2], `"`)}
			b.sent = true
			break
		}
	}
	return len(p), nil
}

// String returns everything logged so far.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns at most the last n bytes logged, enough to explain a failure
// without flooding the output of a shared server's long log.
func (b *logBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// server is one running kastle process (or a stopped one that may be
// restarted on the same data directory).
type server struct {
	dataDir    string
	cacheDir   string // kubectl's discovery cache, private to this server
	url        string // https://127.0.0.1:PORT
	port       int
	kubeconfig string

	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{} // closed when the process has exited
	err  error         // exit error, valid after done
}

// launch starts the binary on dataDir and waits for its ready line. port 0
// lets the server pick a free port.
func launch(dataDir string, port int, extra ...string) (*server, error) {
	cacheDir := filepath.Join(dataDir, "..", filepath.Base(dataDir)+"-kubectl-cache")
	s := &server{dataDir: dataDir, cacheDir: cacheDir, log: newLogBuffer(), done: make(chan struct{})}
	args := append([]string{"server", "--data-dir", dataDir, "--secure-port", strconv.Itoa(port),
		"--bind-address", "127.0.0.1"}, extra...)
	s.cmd = exec.Command(env.kastle, args...)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	// Kill the server if the test binary dies (e.g. on a -timeout panic),
	// so no orphan keeps ports and files.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", env.kastle, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	select {
	case m := <-s.log.ready:
		s.url, s.kubeconfig = m[0], m[1]
	case <-s.done:
		return nil, fmt.Errorf("server exited before ready (%v); log:\n%s", s.err, s.log)
	case <-time.After(readyTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
		return nil, fmt.Errorf("server not ready within %s; log:\n%s", readyTimeout, s.log)
	}
	if !filepath.IsAbs(s.kubeconfig) {
		s.kubeconfig = filepath.Join(dataDir, "admin.conf")
	}
	u, err := url.Parse(s.url)
	if err != nil {
		s.stop(syscall.SIGKILL)
		return nil, fmt.Errorf("ready line url %q: %w", s.url, err)
	}
	if u.Hostname() != "127.0.0.1" {
		s.stop(syscall.SIGKILL)
		return nil, fmt.Errorf("server listens on %q, tests only talk to 127.0.0.1", u.Host)
	}
	s.port, err = strconv.Atoi(u.Port())
	if err != nil {
		s.stop(syscall.SIGKILL)
		return nil, fmt.Errorf("ready line url %q has no port", s.url)
	}
	return s, nil
}

// stop sends sig and waits for the exit, killing the process when SIGTERM
// does not end it within stopTimeout. It reports whether the stop was clean.
func (s *server) stop(sig syscall.Signal) error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
		if sig == syscall.SIGTERM && s.err != nil {
			return fmt.Errorf("server exited with %v after SIGTERM", s.err)
		}
		return nil
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("server ignored %v for %s and was killed", sig, stopTimeout)
	}
}

// startServer starts a private server on dataDir (usually t.TempDir(), so
// the directory is removed with the test) and stops it when the test ends.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	return startServerOnPort(t, dataDir, 0, extra...)
}

// startServerOnPort is startServer with a fixed port, for restarts that
// clients must find at the same address.
func startServerOnPort(t *testing.T, dataDir string, port int, extra ...string) *server {
	t.Helper()
	s, err := launch(dataDir, port, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stop(syscall.SIGTERM); err != nil {
			t.Errorf("stopping server: %v", err)
		}
		if t.Failed() {
			t.Logf("server log (%s):\n%s", s.url, s.log.tail(64<<10))
		}
	})
	return s
}

// restart stops s with sig and starts a new process on the same data
// directory and the same port, returning the new server.
func (s *server) restart(t *testing.T, sig syscall.Signal) *server {
	t.Helper()
	if err := s.stop(sig); err != nil {
		t.Fatal(err)
	}
	return startServerOnPort(t, s.dataDir, s.port)
}

// result is what one command printed and how it ended.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s\n--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// combined is stdout and stderr together, for assertions that do not care
// which stream a message went to.
func (r result) combined() string { return r.stdout + r.stderr }

// runOpts are the rarely needed extras of a command.
type runOpts struct {
	stdin string
	env   []string
}

// run executes name with args within commandTimeout.
func run(t *testing.T, o runOpts, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), o.env...)
	if o.stdin != "" {
		cmd.Stdin = strings.NewReader(o.stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after %s\n%s", name, strings.Join(args, " "), commandTimeout, r)
	}
	return r
}

// kubectlArgs points kubectl at s: its admin kubeconfig and its current URL
// (a restarted server may listen on a new port).
func (s *server) kubectlArgs(args []string) []string {
	return append([]string{"--kubeconfig", s.kubeconfig, "--server", s.url}, args...)
}

// kubectlEnv gives kubectl a discovery cache private to this server, so
// tests never read another server's (or the user's) cached discovery.
func (s *server) kubectlEnv(extra []string) []string {
	return append([]string{"KUBECONFIG=" + s.kubeconfig, "KUBECACHEDIR=" + s.cacheDir}, extra...)
}

// kubectl runs kubectl against s.
func (s *server) kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return s.kubectlWith(t, runOpts{}, args...)
}

// kubectlWith runs kubectl against s with stdin and extra environment.
func (s *server) kubectlWith(t *testing.T, o runOpts, args ...string) result {
	t.Helper()
	o.env = s.kubectlEnv(o.env)
	return run(t, o, env.kubectl, s.kubectlArgs(args)...)
}

// mustKubectl runs kubectl against s and fails the test unless it exits 0.
func (s *server) mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	return s.mustKubectlWith(t, runOpts{}, args...)
}

// mustKubectlWith is mustKubectl with stdin and extra environment.
func (s *server) mustKubectlWith(t *testing.T, o runOpts, args ...string) string {
	t.Helper()
	r := s.kubectlWith(t, o, args...)
	if r.code != 0 {
		t.Fatalf("kubectl %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// kubectl runs kubectl against the shared server.
func kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return env.shared.kubectl(t, args...)
}

// mustKubectl runs kubectl against the shared server and fails unless it exits 0.
func mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	return env.shared.mustKubectl(t, args...)
}

// mustKubectlIn runs kubectl against the shared server with stdin.
func mustKubectlIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	return env.shared.mustKubectlWith(t, runOpts{stdin: stdin}, args...)
}

// kubectlIn runs kubectl against the shared server with stdin.
func kubectlIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return env.shared.kubectlWith(t, runOpts{stdin: stdin}, args...)
}

// lineStream runs a long-lived kubectl (watch) and delivers its stdout line by line.
type lineStream struct {
	lines  chan string
	stderr *logBuffer
	done   chan struct{}
}

// kubectlStream starts kubectl against s in the background; it is killed
// when ctx ends or the test finishes.
func (s *server) kubectlStream(t *testing.T, ctx context.Context, args ...string) *lineStream {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, env.kubectl, s.kubectlArgs(args)...)
	cmd.Env = append(os.Environ(), s.kubectlEnv(nil)...)
	ls := &lineStream{lines: make(chan string, 1024), stderr: newLogBuffer(), done: make(chan struct{})}
	cmd.Stderr = ls.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ls.lines <- sc.Text()
		}
		close(ls.lines)
		_ = cmd.Wait()
		close(ls.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-ls.done
	})
	return ls
}

// await reads lines until one satisfies match, failing the test at the
// deadline or when the stream ends; it returns the matching line.
func (ls *lineStream) await(t *testing.T, timeout time.Duration, what string, match func(string) bool) string {
	t.Helper()
	deadline := time.After(timeout)
	var seen []string
	for {
		select {
		case line, ok := <-ls.lines:
			if !ok {
				t.Fatalf("stream ended before %s; lines: %q; stderr: %s", what, seen, ls.stderr)
			}
			seen = append(seen, line)
			if match(line) {
				return line
			}
		case <-deadline:
			t.Fatalf("no %s within %s; lines: %q; stderr: %s", what, timeout, seen, ls.stderr)
		}
	}
}

// restConfig is a client-go configuration for s with limits high enough for
// the bulk tests.
func (s *server) restConfig(t testing.TB) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags(s.url, s.kubeconfig)
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", s.kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	if os.Getenv("E2E_TRACE") != "" {
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := rt.RoundTrip(req)
				code := 0
				if resp != nil {
					code = resp.StatusCode
				}
				if req.Method != "POST" && req.Method != "PATCH" && req.Method != "DELETE" {
					fmt.Fprintf(os.Stderr, "TRACE %s %s %s -> %d %v\n", time.Now().Format("15:04:05.000"), req.Method, req.URL.RequestURI(), code, err)
				}
				return resp, err
			})
		}
	}
	return cfg
}

// clientset returns a typed client-go client for s.
func (s *server) clientset(t testing.TB) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(s.restConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// namespace creates a fresh namespace on the shared server for one test
// and deletes it afterwards (without waiting), so parallel tests never
// see each other's objects.
func namespace(t *testing.T) string {
	t.Helper()
	return env.shared.namespace(t)
}

// namespace creates a namespace named after the test on s.
func (s *server) namespace(t *testing.T) string {
	t.Helper()
	ns := nsName(t.Name())
	s.mustKubectl(t, "create", "namespace", ns)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log (tail):\n%s", s.log.tail(16<<10))
			return
		}
		s.kubectl(t, "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
	})
	return ns
}

// nsName turns a test name into a valid, unique-enough DNS label.
func nsName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 50 {
		s = s[len(s)-50:]
	}
	return "e2e-" + strings.Trim(s, "-")
}

// eventually polls cond every 200ms until it returns "" (success) or the
// timeout passes, then fails with the last reason.
func eventually(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeFile writes content to a new file in the test's temp dir.
func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustContain fails when any of wants is missing from got.
func mustContain(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
}

// fields splits a table line into its whitespace-separated columns.
func fields(line string) []string { return strings.Fields(line) }

// firstLine is the first line of s (a table header).
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

package caserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/caserver"
	capb "github.com/kastle-dev/kastle/internal/caserver/proto"
	"github.com/kastle-dev/kastle/internal/pki"
)

// procCPU returns the user+system CPU time a process has used so far,
// from /proc (clock ticks of 10 ms).
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// procRSS returns a process's peak resident set size in MiB (VmHWM).
func procRSS(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// benchBinary returns the kastle binary to benchmark: $KASTLE_CA_BENCH_BINARY
// when set (to compare two builds, run A B A B), else one built from this
// tree. With caserver.CPUProfileEnv set, the served process writes its CPU
// profile there (the variable is inherited).
func benchBinary(b *testing.B) string {
	if p := os.Getenv("KASTLE_CA_BENCH_BINARY"); p != "" {
		return p
	}
	return kastleBinary(b)
}

// benchCSRs makes n P-256 CSRs; generating them is the requester's cost,
// not the service's, so it happens before the clock starts.
func benchCSRs(b *testing.B, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		key, _ := pki.GenerateKey(pki.ECDSAP256)
		out[i], _ = pki.CreateCSR(key, pki.CertSpec{CommonName: fmt.Sprintf("bench-%d", i),
			DNSNames: []string{fmt.Sprintf("bench-%d.example.com", i)}})
	}
	return out
}

// startProc runs a server process and waits until addr accepts
// connections; it is killed in b.Cleanup.
func startProc(b *testing.B, addr string, cmd *exec.Cmd) {
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			b.Fatalf("%s exited:\n%s", cmd.Path, log.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not listen on %s:\n%s", cmd.Path, addr, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signLoad sends b.N signing requests from conc workers over keep-alive
// HTTP/1.1 connections and reports req/s, p99 latency and the server's
// CPU per certificate.
func signLoad(b *testing.B, conc, pid int, client *http.Client, send func(c *http.Client, i int) error) {
	// Warm up the connections (handshakes are not what is measured).
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() { defer wg.Done(); _ = send(client, w) }()
	}
	wg.Wait()
	lat := make([]time.Duration, b.N)
	var next int64 = -1
	var mu sync.Mutex
	var firstErr error
	cpu0 := procCPU(b, pid)
	self0 := procCPU(b, os.Getpid())
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				next++
				i := int(next)
				mu.Unlock()
				if i >= b.N {
					return
				}
				t0 := time.Now()
				if err := send(client, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := procCPU(b, pid) - cpu0
	self := procCPU(b, os.Getpid()) - self0
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "server-cpu-ms/cert")
	b.ReportMetric(procRSS(b, pid), "server-peak-rss-MiB")
	// The load generator shares the machine's cores with the server.
	b.ReportMetric(float64(self.Microseconds())/1000/float64(b.N), "client-cpu-ms/req")
	b.ReportMetric(0, "ns/op") // wall time per op is req/s's inverse; not useful here
}

// BenchmarkSignHTTPSmTLS measures CSR signing through the real `kastle ca
// serve` over HTTPS with mutual TLS and keep-alive connections.
func BenchmarkSignHTTPSmTLS(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "ca")
	addr := freeAddr(b)
	cmd := exec.Command(benchBinary(b), "ca", "serve", "--dir", dir, "--listen", addr, "--grpc=false", "--mtls=true")
	startProc(b, addr, cmd)
	csrs := benchCSRs(b, 256)
	caPEM, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "client-admin.crt"), filepath.Join(dir, "client-admin.key"))
	if err != nil {
		b.Fatal(err)
	}
	for _, conc := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) {
			tr := &http.Transport{
				TLSClientConfig:     &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
				MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc,
				TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 keep-alive, like cfssl's
			}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			url := "https://" + addr + "/csr?profile=server"
			signLoad(b, conc, cmd.Process.Pid, client, func(c *http.Client, i int) error {
				resp, err := c.Post(url, caserver.ContentTypePKCS10, bytes.NewReader(csrs[i%len(csrs)]))
				if err != nil {
					return err
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					return fmt.Errorf("sign: %s %s", resp.Status, body)
				}
				return nil
			})
		})
	}
}

// BenchmarkSignCfsslServe runs the same load against `cfssl serve`'s
// plain-HTTP sign API (no TLS, no authentication), for comparison.
func BenchmarkSignCfsslServe(b *testing.B) {
	if _, err := exec.LookPath("cfssl"); err != nil {
		b.Skip("cfssl not installed (apt-get install golang-cfssl)")
	}
	dir := b.TempDir()
	out, err := caserver.InitCA([]byte(`{"CN": "bench-ca", "key": {"algo": "ecdsa", "size": 256}}`))
	if err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ca.pem"), []byte(out.Cert), 0o644)
	os.WriteFile(filepath.Join(dir, "ca-key.pem"), []byte(out.Key), 0o600)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"signing": {"default": {"expiry": "8760h",
		"usages": ["signing", "key encipherment", "server auth"]}, "profiles": {"server": {"expiry": "8760h",
		"usages": ["signing", "key encipherment", "server auth"]}}}}`), 0o644)
	addr := freeAddr(b)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("cfssl", "serve", "-address", host, "-port", port, "-ca", filepath.Join(dir, "ca.pem"),
		"-ca-key", filepath.Join(dir, "ca-key.pem"), "-config", filepath.Join(dir, "config.json"), "-loglevel", "5")
	startProc(b, addr, cmd)
	csrs := benchCSRs(b, 256)
	bodies := make([][]byte, len(csrs))
	for i, c := range csrs {
		bodies[i], _ = json.Marshal(map[string]string{"certificate_request": string(c), "profile": "server"})
	}
	for _, conc := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			url := "http://" + addr + "/api/v1/cfssl/sign"
			signLoad(b, conc, cmd.Process.Pid, client, func(c *http.Client, i int) error {
				resp, err := c.Post(url, "application/json", bytes.NewReader(bodies[i%len(bodies)]))
				if err != nil {
					return err
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"success":true`)) {
					return fmt.Errorf("cfssl sign: %s %s", resp.Status, body)
				}
				return nil
			})
		})
	}
}

// BenchmarkSignGRPCmTLS is the same load through the gRPC API (SignPemCsr)
// with mutual TLS, all workers multiplexed on one HTTP/2 connection.
func BenchmarkSignGRPCmTLS(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "ca")
	addr := freeAddr(b)
	cmd := exec.Command(benchBinary(b), "ca", "serve", "--dir", dir, "--listen", addr, "--grpc=true", "--mtls=true")
	startProc(b, addr, cmd)
	csrs := benchCSRs(b, 256)
	s := &server{addr: addr, dir: dir}
	client := grpcConn(b, s, s.file("client-admin.crt"), s.file("client-admin.key"))
	for _, conc := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) {
			signLoad(b, conc, cmd.Process.Pid, nil, func(_ *http.Client, i int) error {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, err := client.SignPemCsr(ctx, &capb.PemCsrRequest{Csr: csrs[i%len(csrs)], Profile: "server"})
				return err
			})
		})
	}
}

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/pki"
)

// agentCurrentCert reads the certificate a symlink like
// pki/kubelet-client-current.pem points at.
func agentCurrentCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCertsPEM(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return certs[0]
}

// agentServingCert is the certificate the agent at url serves.
func agentServingCert(t *testing.T, s *server, url string) (*x509.Certificate, error) {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// TestAgentCertificateRotation: with 3-minute certificates (and serving
// CSRs approved by policy), the agent renews its client and serving
// certificates before they expire; past the first client certificate's
// expiry the Node is still Ready, its Lease is still renewed, and the API
// answered every request made meanwhile.
func TestAgentCertificateRotation(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--cluster-signing-duration", "3m", "--approve-kubelet-serving")
	ctx := context.Background()
	admin := s.clientset(t)
	tok := agentToken(t, ctx, admin)
	a := startAgent(t, s, tok, "n1", "127.0.0.2")
	eventually(t, 30*time.Second, func() string {
		if a.url() == "" {
			return "agent not serving"
		}
		return ""
	})
	url := a.url()
	clientPEM := filepath.Join(a.dir, "pki", "kubelet-client-current.pem")
	first := agentCurrentCert(t, clientPEM)
	if life := first.NotAfter.Sub(time.Now()); life > 3*time.Minute+5*time.Second {
		t.Fatalf("client certificate valid for %s, want at most 3m", life)
	}
	firstServing, err := agentServingCert(t, s, url)
	if err != nil {
		t.Fatal(err)
	}

	// A steady caller, over kept-alive and fresh connections alike.
	creds := extractAdmin(t, s)
	pair, err := tls.LoadX509KeyPair(creds.cert, creds.key)
	if err != nil {
		t.Fatal(err)
	}
	keep := agentHTTP(t, s, &pair)
	var calls, failures atomic.Int64
	var lastFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			c := keep
			if i%4 == 0 {
				c = agentHTTP(t, s, &pair)
			}
			calls.Add(1)
			resp, err := c.Get(url + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				failures.Add(1)
				lastFailure.Store(err.Error())
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	})

	// Wait past the first client certificate's expiry.
	past := first.NotAfter.Add(15 * time.Second)
	t.Logf("first client certificate expires at %s; waiting until %s", first.NotAfter.Format(time.TimeOnly), past.Format(time.TimeOnly))
	for time.Now().Before(past) {
		time.Sleep(5 * time.Second)
		if why := agentNodeReady(ctx, admin, "n1", "127.0.0.2"); why != "" {
			t.Fatalf("%s: %s", time.Now().Format(time.TimeOnly), why)
		}
	}
	close(stop)
	wg.Wait()

	now := time.Now()
	cur := agentCurrentCert(t, clientPEM)
	if cur.SerialNumber.Cmp(first.SerialNumber) == 0 || !now.Before(cur.NotAfter) || cur.Subject.CommonName != "system:node:n1" {
		t.Errorf("client certificate not rotated: serial %v (first %v), notAfter %s", cur.SerialNumber, first.SerialNumber, cur.NotAfter)
	}
	files, _ := filepath.Glob(filepath.Join(a.dir, "pki", "kubelet-client-2*.pem"))
	if len(files) < 2 {
		t.Errorf("client certificate files %v, want at least two generations", files)
	}
	// Heartbeats went on with the new certificate.
	eventually(t, 15*time.Second, func() string {
		renewed, err := agentLeaseRenewTime(ctx, admin, "n1")
		if err != nil || !renewed.After(first.NotAfter) {
			return fmt.Sprintf("lease last renewed %s, before the first certificate expired at %s (%v)", renewed, first.NotAfter, err)
		}
		n, err := admin.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		for _, c := range n.Status.Conditions {
			if c.Type == "Ready" && !c.LastHeartbeatTime.After(first.NotAfter) {
				return fmt.Sprintf("node status last written %s", c.LastHeartbeatTime)
			}
		}
		return ""
	})
	serving, err := agentServingCert(t, s, url)
	if err != nil {
		t.Fatal(err)
	}
	if serving.SerialNumber.Cmp(firstServing.SerialNumber) == 0 || !now.Before(serving.NotAfter) {
		t.Errorf("serving certificate not rotated: serial %v, notAfter %s", serving.SerialNumber, serving.NotAfter)
	}
	if f := failures.Load(); f > 0 {
		t.Errorf("%d of %d requests to the agent failed during rotation; last: %v", f, calls.Load(), lastFailure.Load())
	}
	log := a.log.String()
	mustContain(t, log, "client certificate rotated", "serving certificate rotated")
	if strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN") {
		t.Errorf("the agent logged errors or warnings:\n%s", a.log.tail(8<<10))
	}
	t.Logf("%d requests to the agent, all answered; client certificate now expires at %s", calls.Load(), cur.NotAfter.Format(time.TimeOnly))
}

package agent

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestRotatingTransport: after Rotate, new requests present the new
// certificate, and a request in flight on an old connection completes.
func TestRotatingTransport(t *testing.T) {
	ca := testCA(t)
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.TLS.PeerCertificates[0].Subject.CommonName)
		mu.Unlock()
		if r.URL.Path == "/slow" {
			<-release
		}
		_, _ = w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{servingPair(t, ca)},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	srv.StartTLS()
	defer srv.Close()

	tr := newRotatingTransport(ca.Pool(), "", clientPair(t, ca, "gen-1"))
	defer tr.Close()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	get := func(path string) (string, error) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if who, err := get("/"); err != nil || who != "gen-1" {
		t.Fatalf("first request: %q %v", who, err)
	}
	slow := make(chan string, 1)
	go func() {
		who, err := get("/slow")
		if err != nil {
			who = err.Error()
		}
		slow <- who
	}()
	// Wait until the slow request is at the server.
	for deadline := time.Now().Add(5 * time.Second); ; {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("slow request never arrived")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tr.Rotate(clientPair(t, ca, "gen-2"))
	if tr.Current().Leaf.Subject.CommonName != "gen-2" {
		t.Errorf("Current = %s", tr.Current().Leaf.Subject.CommonName)
	}
	if who, err := get("/"); err != nil || who != "gen-2" {
		t.Errorf("after rotation: %q %v", who, err)
	}
	close(release)
	if who := <-slow; who != "gen-1" {
		t.Errorf("the request in flight during rotation: %q, want it answered on its gen-1 connection", who)
	}
}

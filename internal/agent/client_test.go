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

// TestWatchedFile: a certificate replaced on disk is presented on the next
// connection; an unchanged, corrupt or expired file is not.
func TestWatchedFile(t *testing.T) {
	ca := testCA(t)
	store := &certStore{dir: t.TempDir(), prefix: ClientCertPrefix, now: time.Now}
	c1, k1 := issuePEM(t, ca, clientSpec("gen-1"), time.Now())
	p1, err := store.Write(c1, k1)
	if err != nil {
		t.Fatal(err)
	}
	tr := newRotatingTransport(ca.Pool(), "", p1)
	defer tr.Close()
	tr.file = &watchedFile{path: store.CurrentPath(), now: time.Now}
	if got := tr.Current().Leaf.Subject.CommonName; got != "gen-1" {
		t.Fatalf("Current = %s", got)
	}
	c2, k2 := issuePEM(t, ca, clientSpec("gen-2"), time.Now())
	if _, err := store.Write(c2, k2); err != nil {
		t.Fatal(err)
	}
	if got := tr.Current().Leaf.Subject.CommonName; got != "gen-2" {
		t.Errorf("after the file changed: %s", got)
	}
	// Expired on disk: keep the last good one.
	c3, k3 := issuePEM(t, ca, clientSpec("gen-3"), time.Now().Add(-time.Hour))
	if _, err := store.Write(c3, k3); err != nil {
		t.Fatal(err)
	}
	if got := tr.Current().Leaf.Subject.CommonName; got != "gen-2" {
		t.Errorf("after an expired file: %s", got)
	}
}

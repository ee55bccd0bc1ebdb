package apiserver

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// tlsVersions maps --tls-min-version values to Go's constants.
var tlsVersions = map[string]uint16{
	"VersionTLS12": tls.VersionTLS12,
	"VersionTLS13": tls.VersionTLS13,
}

// parseTLSMinVersion accepts kube-apiserver's names; TLS 1.0 and 1.1 are
// refused outright.
func parseTLSMinVersion(s string) (uint16, error) {
	if s == "" {
		return tls.VersionTLS12, nil
	}
	v, ok := tlsVersions[s]
	if !ok {
		return 0, fmt.Errorf("--tls-min-version %q: must be VersionTLS12 or VersionTLS13", s)
	}
	return v, nil
}

// parseCipherSuites maps IANA names to IDs; insecure suites are refused.
func parseCipherSuites(names []string) ([]uint16, error) {
	if len(names) == 0 {
		return nil, nil // Go's defaults
	}
	known := map[string]uint16{}
	for _, c := range tls.CipherSuites() {
		known[c.Name] = c.ID
	}
	insecure := map[string]bool{}
	for _, c := range tls.InsecureCipherSuites() {
		insecure[c.Name] = true
	}
	var ids []uint16
	for _, n := range names {
		n = strings.TrimSpace(n)
		if insecure[n] {
			return nil, fmt.Errorf("--tls-cipher-suites: %s is insecure", n)
		}
		id, ok := known[n]
		if !ok {
			return nil, fmt.Errorf("--tls-cipher-suites: unknown cipher suite %q", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// servingFiles serves the certificate and client CAs of files that may be
// replaced while the server runs: each handshake uses the newest valid
// content, re-read at most once per second when a file's mtime or size
// changed. A broken replacement keeps the previous content (and is
// reported), so a half-written file never takes the server down.
type servingFiles struct {
	certFile, keyFile string // empty: fixed certificate
	caFile            string // empty: fixed pool

	mu        sync.Mutex
	cert      *tls.Certificate
	pool      *x509.CertPool
	stamps    map[string]string
	lastCheck time.Time
	onError   func(error)
}

func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
}

// load reads the files; on the first load an error is fatal.
func (f *servingFiles) load() error {
	if f.certFile != "" {
		c, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return fmt.Errorf("loading --tls-cert-file/--tls-private-key-file: %w", err)
		}
		f.cert = &c
	}
	if f.caFile != "" {
		data, err := os.ReadFile(f.caFile)
		if err != nil {
			return fmt.Errorf("reading --client-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return fmt.Errorf("--client-ca-file %s holds no PEM certificate", f.caFile)
		}
		f.pool = pool
	}
	f.stamps = map[string]string{}
	for _, p := range []string{f.certFile, f.keyFile, f.caFile} {
		if p != "" {
			f.stamps[p] = fileStamp(p)
		}
	}
	return nil
}

// current returns the certificate and pool, reloading changed files.
func (f *servingFiles) current() (*tls.Certificate, *x509.CertPool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.lastCheck) >= time.Second {
		f.lastCheck = time.Now()
		changed := false
		for p, s := range f.stamps {
			if fileStamp(p) != s {
				changed = true
			}
		}
		if changed {
			next := &servingFiles{certFile: f.certFile, keyFile: f.keyFile, caFile: f.caFile}
			if err := next.load(); err != nil {
				if f.onError != nil {
					f.onError(fmt.Errorf("keeping the previous serving files: %w", err))
				}
				// Do not retry a broken file on every handshake, but do
				// once it changes again (a key and certificate replaced
				// one after the other).
				f.stamps = map[string]string{}
				for p := range next.stampPaths() {
					f.stamps[p] = fileStamp(p)
				}
			} else {
				if next.cert != nil {
					f.cert = next.cert
				}
				if next.pool != nil {
					f.pool = next.pool
				}
				f.stamps = next.stamps
			}
		}
	}
	return f.cert, f.pool
}

// Pool returns the current client CA pool.
func (f *servingFiles) Pool() *x509.CertPool {
	_, p := f.current()
	return p
}

// stampPaths lists the files followed.
func (f *servingFiles) stampPaths() map[string]bool {
	out := map[string]bool{}
	for _, p := range []string{f.certFile, f.keyFile, f.caFile} {
		if p != "" {
			out[p] = true
		}
	}
	return out
}

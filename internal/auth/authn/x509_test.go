package authn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

func TestX509(t *testing.T) {
	ca := newTestCA(t, "client-ca", nil)
	inter := newTestCA(t, "client-intermediate", ca)
	foreign := newTestCA(t, "foreign-ca", nil)
	now := time.Now()

	valid, _ := ca.issue(t, leafOpts{cn: "alice", orgs: []string{"dev", "ops"}})
	viaInter, _ := inter.issue(t, leafOpts{cn: "bob"})
	expired, _ := ca.issue(t, leafOpts{cn: "old", notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-time.Hour)})
	future, _ := ca.issue(t, leafOpts{cn: "new", notBefore: now.Add(time.Hour), notAfter: now.Add(48 * time.Hour)})
	foreignLeaf, _ := foreign.issue(t, leafOpts{cn: "mallory"})
	serverOnly, _ := ca.issue(t, leafOpts{cn: "server", usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	noCN, _ := ca.issue(t, leafOpts{cn: ""})
	revokedSerial, _ := ca.issue(t, leafOpts{cn: "revoked-by-serial"})
	revokedCRL, _ := ca.issue(t, leafOpts{cn: "revoked-by-crl"})
	revokedInterLeaf, _ := inter.issue(t, leafOpts{cn: "revoked-intermediate-leaf"})

	serialList := tempFile(t, "serials", []byte("# revoked\n"+formatSerial(revokedSerial.SerialNumber)+"\n"))
	crlFile := tempFile(t, "crl.pem", append(ca.crl(t, ca.key, now.Add(time.Hour), revokedCRL.SerialNumber),
		inter.crl(t, inter.key, now.Add(time.Hour), revokedInterLeaf.SerialNumber)...))
	bySerial, err := NewRevocationList(RevocationConfig{Path: serialList, Now: time.Now, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	byCRL, err := NewRevocationList(RevocationConfig{Path: crlFile, ClientCAs: []*x509.Certificate{ca.cert, inter.cert}, Now: time.Now, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		a       *X509
		certs   []*x509.Certificate
		want    *user.Info
		wantOK  bool
		wantErr string
	}{
		{name: "no certificate", a: &X509{Roots: ca.pool()}},
		{name: "valid", a: &X509{Roots: ca.pool()}, certs: []*x509.Certificate{valid},
			want: &user.Info{Name: "alice", Groups: []string{"dev", "ops"}}, wantOK: true},
		{name: "valid through intermediate", a: &X509{Roots: ca.pool()}, certs: []*x509.Certificate{viaInter, inter.cert},
			want: &user.Info{Name: "bob"}, wantOK: true},
		{name: "intermediate missing", a: &X509{Roots: ca.pool()}, certs: []*x509.Certificate{viaInter}, wantErr: "unknown authority"},
		{name: "expired", a: &X509{Roots: ca.pool()}, certs: []*x509.Certificate{expired}, wantErr: "expired"},
		{name: "not yet valid", a: &X509{Roots: ca.pool()}, certs: []*x509.Certificate{future}, wantErr: "not yet valid"},
		{name: "valid again by the clock", a: &X509{Roots: ca.pool(), Now: func() time.Time { return now.Add(2 * time.Hour) }},
			certs: []*x509.Certificate{future}, want: &user.Info{Name: "new"}, wantOK: true},
		{name: "foreign CA", a: &X509{Roots: ca.pool()}, certs: []*x509.Certificate{foreignLeaf}, wantErr: "unknown authority"},
		{name: "serverAuth only", a: &X509{Roots: ca.pool()}, certs: []*x509.Certificate{serverOnly}, wantErr: "incompatible key usage"},
		{name: "no common name", a: &X509{Roots: ca.pool()}, certs: []*x509.Certificate{noCN}, wantErr: "no common name"},
		{name: "no client CA", a: &X509{}, certs: []*x509.Certificate{valid}, wantErr: "no client CA"},
		{name: "revoked by serial", a: &X509{Roots: ca.pool(), Revocation: bySerial}, certs: []*x509.Certificate{revokedSerial}, wantErr: "revoked"},
		{name: "serial list spares others", a: &X509{Roots: ca.pool(), Revocation: bySerial}, certs: []*x509.Certificate{valid},
			want: &user.Info{Name: "alice", Groups: []string{"dev", "ops"}}, wantOK: true},
		{name: "revoked by CRL", a: &X509{Roots: ca.pool(), Revocation: byCRL}, certs: []*x509.Certificate{revokedCRL}, wantErr: "revoked"},
		{name: "revoked by intermediate's CRL", a: &X509{Roots: ca.pool(), Revocation: byCRL},
			certs: []*x509.Certificate{revokedInterLeaf, inter.cert}, wantErr: "revoked"},
		{name: "CRL spares others", a: &X509{Roots: ca.pool(), Revocation: byCRL}, certs: []*x509.Certificate{viaInter, inter.cert},
			want: &user.Info{Name: "bob"}, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := tt.a.Authenticate(tlsRequest(tt.certs...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if ok || got != nil {
					t.Fatalf("rejected certificate still returned %v, %v", got, ok)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if _, _, err := (&X509{Roots: ca.pool(), Revocation: bySerial}).Authenticate(tlsRequest(revokedSerial)); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked error %v does not wrap ErrRevoked", err)
	}
}

// TestX509OverTLS runs the authenticator behind a real TLS listener that
// requests but does not require client certificates.
func TestX509OverTLS(t *testing.T) {
	ca := newTestCA(t, "client-ca", nil)
	serverCA := newTestCA(t, "server-ca", nil)
	good, goodKey := ca.issue(t, leafOpts{cn: "alice", orgs: []string{"dev"}})
	bad, badKey := ca.issue(t, leafOpts{cn: "eve"})
	srvCert, srvKey := serverCA.issue(t, leafOpts{cn: "127.0.0.1", ips: []net.IP{net.IPv4(127, 0, 0, 1)}, usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})

	clock := newTestClock()
	revPath := tempFile(t, "revoked", nil)
	rev, err := NewRevocationList(RevocationConfig{Path: revPath, Now: clock.Now, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	a := Union{&X509{Roots: ca.pool(), Revocation: rev}, Anonymous{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _, err := a.Authenticate(r)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(u.Name))
	}))
	srv.TLS = &tls.Config{
		ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey}},
	}
	srv.StartTLS()
	defer srv.Close()

	get := func(cert *x509.Certificate, key any) (int, string) {
		t.Helper()
		cfg := &tls.Config{RootCAs: serverCA.pool(), MinVersion: tls.VersionTLS12}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		defer c.CloseIdleConnections()
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, strings.TrimSpace(b.String())
	}
	if code, body := get(good, goodKey); code != 200 || body != "alice" {
		t.Fatalf("valid cert: %d %q", code, body)
	}
	if code, body := get(nil, nil); code != 200 || body != AnonymousUser {
		t.Fatalf("no cert: %d %q", code, body)
	}
	if code, body := get(bad, badKey); code != 200 || body != "eve" {
		t.Fatalf("before revocation: %d %q", code, body)
	}
	// Revoke eve without a restart.
	writeFile(t, revPath, []byte(strings.ToLower(formatSerial(bad.SerialNumber))+"\n"))
	clock.Advance(DefaultRevocationReloadInterval)
	if code, _ := get(bad, badKey); code != http.StatusUnauthorized {
		t.Fatalf("revoked cert: got %d, want 401", code)
	}
	if code, body := get(good, goodKey); code != 200 || body != "alice" {
		t.Fatalf("valid cert after revocation of another: %d %q", code, body)
	}
}

func TestRevocationListParse(t *testing.T) {
	ca := newTestCA(t, "client-ca", nil)
	other := newTestCA(t, "other-ca", nil)
	now := time.Now()
	tests := []struct {
		name    string
		data    []byte
		cas     []*x509.Certificate
		revoked []*big.Int
		spared  []*big.Int
		wantErr string
	}{
		{name: "empty file", data: nil, spared: []*big.Int{big.NewInt(1)}},
		{name: "serials in every spelling",
			data:    []byte("0a:1B\n# comment\n  0XFF  # trailing\nDEADBEEF\n\n01:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01\n"),
			revoked: []*big.Int{big.NewInt(0x0a1b), big.NewInt(0xff), big.NewInt(0xdeadbeef), new(big.Int).SetBytes([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})},
			spared:  []*big.Int{big.NewInt(0x0a), big.NewInt(0x1b)}},
		{name: "bad serial", data: []byte("12\nxyz\n"), wantErr: `line 2: "xyz"`},
		{name: "negative serial", data: []byte("-12\n"), wantErr: "not a hex serial"},
		{name: "CRL of client CA", data: ca.crl(t, ca.key, now.Add(time.Hour), big.NewInt(77)), cas: []*x509.Certificate{ca.cert},
			revoked: []*big.Int{big.NewInt(77)}, spared: []*big.Int{big.NewInt(78)}},
		{name: "stale CRL still revokes", data: ca.crl(t, ca.key, now.Add(-time.Minute), big.NewInt(77)), cas: []*x509.Certificate{ca.cert},
			revoked: []*big.Int{big.NewInt(77)}},
		{name: "CRL of foreign CA", data: other.crl(t, other.key, now.Add(time.Hour), big.NewInt(77)), cas: []*x509.Certificate{ca.cert},
			wantErr: "not a client CA"},
		{name: "forged CRL in a client CA's name", data: ca.crl(t, other.key, now.Add(time.Hour), big.NewInt(77)), cas: []*x509.Certificate{ca.cert},
			wantErr: "does not verify"},
		{name: "CRL without client CAs", data: ca.crl(t, ca.key, now.Add(time.Hour), big.NewInt(77)), wantErr: "no client CA"},
		{name: "not a CRL", data: pemBlock("CERTIFICATE", ca.cert.Raw), cas: []*x509.Certificate{ca.cert}, wantErr: "want \"X509 CRL\""},
		{name: "garbage CRL", data: pemBlock("X509 CRL", []byte("nope")), cas: []*x509.Certificate{ca.cert}, wantErr: "CRL 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tempFile(t, "rev", tt.data)
			l, err := NewRevocationList(RevocationConfig{Path: p, ClientCAs: tt.cas, Now: time.Now, Log: discardLog()})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			leaf := func(serial *big.Int) []*x509.Certificate {
				return []*x509.Certificate{{SerialNumber: serial, RawIssuer: ca.cert.RawSubject}, ca.cert}
			}
			for _, s := range tt.revoked {
				if err := l.CheckRevoked(leaf(s)); !errors.Is(err, ErrRevoked) {
					t.Errorf("serial %x: err = %v, want revoked", s, err)
				}
			}
			for _, s := range tt.spared {
				if err := l.CheckRevoked(leaf(s)); err != nil {
					t.Errorf("serial %x: %v", s, err)
				}
			}
		})
	}
}

func TestRevocationListReload(t *testing.T) {
	ca := newTestCA(t, "client-ca", nil)
	clock := newTestClock()
	p := filepath.Join(t.TempDir(), "crl.pem")
	writeFile(t, p, ca.crl(t, ca.key, clock.Now().Add(time.Hour), big.NewInt(1)))
	l, err := NewRevocationList(RevocationConfig{Path: p, ClientCAs: []*x509.Certificate{ca.cert}, Now: clock.Now, Log: discardLog(), ReloadInterval: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	chain := func(serial int64) []*x509.Certificate {
		return []*x509.Certificate{{SerialNumber: big.NewInt(serial), RawIssuer: ca.cert.RawSubject}, ca.cert}
	}
	check := func(step string, serial int64, revoked bool) {
		t.Helper()
		err := l.CheckRevoked(chain(serial))
		if revoked != (err != nil) {
			t.Fatalf("%s: serial %d: err = %v, want revoked=%v", step, serial, err, revoked)
		}
	}
	check("initial", 1, true)
	check("initial", 2, false)

	writeFile(t, p, ca.crl(t, ca.key, clock.Now().Add(time.Hour), big.NewInt(1), big.NewInt(2)))
	check("before the interval", 2, false)
	clock.Advance(5 * time.Second)
	check("after the interval", 2, true)

	// A forged CRL is refused; the previous list stays.
	other := newTestCA(t, "other", nil)
	writeFile(t, p, ca.crl(t, other.key, clock.Now().Add(time.Hour)))
	clock.Advance(5 * time.Second)
	check("forged reload", 1, true)
	check("forged reload", 2, true)

	// A deleted file keeps the list too; a new one is picked up.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	check("deleted", 2, true)
	writeFile(t, p, []byte("03\n"))
	clock.Advance(5 * time.Second)
	check("serial list", 3, true)
	check("serial list", 2, false)
}

func TestNewRevocationListRefusesMissingDeps(t *testing.T) {
	p := tempFile(t, "rev", nil)
	for name, cfg := range map[string]RevocationConfig{
		"no path":   {Now: time.Now, Log: discardLog()},
		"no clock":  {Path: p, Log: discardLog()},
		"no logger": {Path: p, Now: time.Now},
		"missing":   {Path: p + ".nope", Now: time.Now, Log: discardLog()},
	} {
		if _, err := NewRevocationList(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

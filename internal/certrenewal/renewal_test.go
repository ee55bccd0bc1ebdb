package certrenewal

import (
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"testing"
	"time"
)

func cert(serial int64, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{SerialNumber: big.NewInt(serial), NotBefore: notBefore, NotAfter: notAfter}
}

func TestRenewAt(t *testing.T) {
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	year := cert(1, issued.Add(-backdate), issued.Add(365*24*time.Hour))
	if got, want := RenewAt(year, 0.8), issued.Add(292*24*time.Hour); got.Sub(want).Abs() > time.Second {
		t.Errorf("one-year certificate: renew at %v, want %v", got, want)
	}
	// A short certificate's renewal point is after its issue time, not
	// inside the backdate (which would renew forever).
	short := cert(2, issued.Add(-backdate), issued.Add(2*time.Minute))
	if at := RenewAt(short, MinFraction); !at.After(issued) || at.After(short.NotAfter) {
		t.Errorf("two-minute certificate: renew at %v", at)
	}
}

func TestOnce(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	current := cert(1, now.Add(-95*24*time.Hour), now.Add(5*24*time.Hour)) // 95 % through
	fresh := cert(2, now.Add(-backdate), now.Add(100*24*time.Hour))
	ca := cert(3, now.Add(-3650*24*time.Hour), now.Add(20*24*time.Hour))
	var renewed, warned []string
	expiry := map[string]time.Time{}
	failing := cert(4, now.Add(-95*24*time.Hour), now.Add(5*24*time.Hour))
	r := &Renewer{
		Log: log, Now: func() time.Time { return now },
		Items: []Item{
			{Name: "due", Load: func() (*x509.Certificate, error) { return current, nil }, Renew: func() (*x509.Certificate, error) { current = fresh; return fresh, nil }},
			{Name: "ca", Load: func() (*x509.Certificate, error) { return ca, nil }},
			{Name: "broken", Load: func() (*x509.Certificate, error) { return failing, nil }, Renew: func() (*x509.Certificate, error) { return nil, errors.New("no CA key") }},
		},
		Renewed:  func(name string, _ *x509.Certificate) { renewed = append(renewed, name) },
		Expiring: func(name string, _ *x509.Certificate) { warned = append(warned, name) },
		Expiry:   func(name string, at time.Time) { expiry[name] = at },
	}
	wait := r.Once()
	if len(renewed) != 1 || renewed[0] != "due" {
		t.Errorf("renewed %v", renewed)
	}
	if len(warned) != 2 {
		t.Errorf("warned %v, want the CA (20 days left) and the overdue broken one", warned)
	}
	if !expiry["due"].Equal(fresh.NotAfter) || !expiry["ca"].Equal(ca.NotAfter) {
		t.Errorf("expiry %v", expiry)
	}
	if wait != 10*time.Second {
		t.Errorf("wait %v after a failed renewal, want a quick retry", wait)
	}
	// A day later nothing is renewed again and nothing warned twice.
	renewed, warned = nil, nil
	now = now.Add(time.Hour)
	r.Once()
	if len(renewed) != 0 || len(warned) != 0 {
		t.Errorf("second look: renewed %v warned %v", renewed, warned)
	}
}

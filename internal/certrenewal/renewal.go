package certrenewal

import (
	"context"
	"crypto/x509"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Window bounds: a certificate is renewed between these fractions of its
// lifetime, at a point drawn once per certificate so that many
// certificates issued together do not renew together.
const (
	MinFraction = 0.7
	MaxFraction = 0.9
	// WarnAhead is how long before expiry an unrenewable certificate is
	// warned about.
	WarnAhead = 30 * 24 * time.Hour
	// backdate is how far kastle backdates NotBefore; a renewal point
	// counts from the issue time, not from the backdated NotBefore.
	backdate = 5 * time.Minute
)

// Item is one certificate to look after.
type Item struct {
	// Name is the certificate's layout name ("apiserver", "admin.conf").
	Name string
	// Load reads the certificate as it is now.
	Load func() (*x509.Certificate, error)
	// Renew replaces it and returns the new certificate; nil means the
	// certificate cannot be renewed here (a CA, or an external one) and
	// is only watched.
	Renew func() (*x509.Certificate, error)
}

// Renewer runs the items' renewals. The zero value is not usable: set Log.
type Renewer struct {
	Items []Item
	Log   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Expiry reports each certificate's NotAfter after every look; nil
	// reports nothing.
	Expiry func(name string, notAfter time.Time)
	// Renewed is called after a renewal; nil does nothing.
	Renewed func(name string, cert *x509.Certificate)
	// Expiring is called, at most once a day per certificate, for an
	// unrenewable certificate within WarnAhead of its expiry and for a
	// renewable one whose renewal is overdue (past MaxFraction).
	Expiring func(name string, cert *x509.Certificate)
	// MaxSleep bounds the wait between looks (0: one minute).
	MaxSleep time.Duration

	fractions map[string]float64 // serial → drawn fraction
	warned    map[string]time.Time
}

// RenewAt is when a certificate should be renewed at fraction f of its
// lifetime, counted from its issue time.
func RenewAt(cert *x509.Certificate, f float64) time.Time {
	start := cert.NotBefore
	if cert.NotAfter.Sub(start) > backdate {
		start = start.Add(backdate)
	}
	return start.Add(time.Duration(f * float64(cert.NotAfter.Sub(start))))
}

func (r *Renewer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Run looks after the items until ctx ends.
func (r *Renewer) Run(ctx context.Context) {
	for {
		next := r.Once()
		select {
		case <-ctx.Done():
			return
		case <-time.After(next):
		}
	}
}

// Once looks at every item, renewing those due, and returns how long to
// wait before the next look.
func (r *Renewer) Once() time.Duration {
	if r.fractions == nil {
		r.fractions, r.warned = map[string]float64{}, map[string]time.Time{}
	}
	maxSleep := r.MaxSleep
	if maxSleep <= 0 {
		maxSleep = time.Minute
	}
	wait := maxSleep
	now := r.now()
	for _, it := range r.Items {
		cert, err := it.Load()
		if err != nil {
			r.Log.Warn("certificate renewal: cannot read", "certificate", it.Name, "err", err)
			continue
		}
		if it.Renew == nil {
			r.watch(it.Name, cert, now)
			continue
		}
		key := it.Name + "/" + cert.SerialNumber.String()
		f, ok := r.fractions[key]
		if !ok {
			f = MinFraction + rand.Float64()*(MaxFraction-MinFraction)
			r.fractions[key] = f
		}
		at := RenewAt(cert, f)
		if now.Before(at) {
			if d := at.Sub(now); d < wait {
				wait = d
			}
			r.report(it.Name, cert)
			continue
		}
		fresh, err := it.Renew()
		if err != nil {
			r.Log.Error("certificate renewal failed", "certificate", it.Name, "expires", cert.NotAfter, "err", err)
			if now.After(RenewAt(cert, MaxFraction)) {
				r.warn(it.Name, cert, now) // overdue: someone should look
			}
			if wait > 10*time.Second {
				wait = 10 * time.Second
			}
			r.report(it.Name, cert)
			continue
		}
		delete(r.fractions, key)
		r.Log.Info("renewed certificate", "certificate", it.Name, "serial", fresh.SerialNumber.Text(16), "expires", fresh.NotAfter)
		if r.Renewed != nil {
			r.Renewed(it.Name, fresh)
		}
		r.report(it.Name, fresh)
		if d := RenewAt(fresh, MinFraction).Sub(now); d > 0 && d < wait {
			wait = d
		}
	}
	if wait < time.Second {
		wait = time.Second
	}
	return wait
}

func (r *Renewer) report(name string, cert *x509.Certificate) {
	if r.Expiry != nil {
		r.Expiry(name, cert.NotAfter)
	}
}

// watch reports an unrenewable certificate and warns ahead of its expiry.
func (r *Renewer) watch(name string, cert *x509.Certificate, now time.Time) {
	r.report(name, cert)
	if cert.NotAfter.Sub(now) <= WarnAhead {
		r.warn(name, cert, now)
	}
}

// warn calls Expiring at most once a day per certificate.
func (r *Renewer) warn(name string, cert *x509.Certificate, now time.Time) {
	if r.Expiring == nil {
		return
	}
	if last, ok := r.warned[name]; ok && now.Sub(last) < 24*time.Hour {
		return
	}
	r.warned[name] = now
	r.Log.Warn("certificate expires soon", "certificate", name, "expires", cert.NotAfter)
	r.Expiring(name, cert)
}

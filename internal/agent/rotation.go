package agent

import (
	"crypto/x509"
	"math/rand/v2"
	"time"
)

// Rotation happens at a random point between these fractions of a
// certificate's lifetime, so that a fleet issued together does not renew
// together, and a failed attempt still leaves time to retry.
const (
	rotationMinFraction = 0.7
	rotationMaxFraction = 0.9
)

// rotationDeadline is when cert should be renewed: notBefore plus a
// jittered 70–90 % of its lifetime. jitter returns a value in [0, 1); nil
// means math/rand. The lifetime counts from NotBefore, which signers
// backdate for clock skew, so short certificates renew early rather than
// late.
func rotationDeadline(cert *x509.Certificate, jitter func() float64) time.Time {
	if jitter == nil {
		jitter = rand.Float64
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	frac := rotationMinFraction + (rotationMaxFraction-rotationMinFraction)*jitter()
	return cert.NotBefore.Add(time.Duration(float64(life) * frac))
}

// retryBackoff is the wait before attempt n (from 0) of a failed renewal:
// doubling from 1s, at most a minute, and never past the point where the
// certificate is nearly gone (a tenth of the remaining time, at least 1s).
func retryBackoff(n int, remaining time.Duration) time.Duration {
	d := time.Second << min(n, 6)
	d = min(d, time.Minute)
	if limit := max(remaining/10, time.Second); d > limit {
		d = limit
	}
	return d
}

// Package certrenewal renews certificates continuously: each is renewed
// at a jittered 70–90 % of its lifetime, while the old one is still valid,
// so running processes pick the new one up before the old one lapses; it
// also reports every certificate's expiry and warns 30 days ahead of one
// that cannot be renewed.
package certrenewal

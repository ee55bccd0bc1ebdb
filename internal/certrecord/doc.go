// Package certrecord is the issuance record: every certificate the
// cluster's CAs sign is kept as a cluster-scoped kastle.io/v1alpha1
// IssuedCertificate named by its serial number (who holds it, for what,
// until when, asked for by whom), so `kastle certs list` can show who holds
// what and `kastle certs revoke` can revoke one; the API server refuses a
// revoked client certificate on its next request.
package certrecord

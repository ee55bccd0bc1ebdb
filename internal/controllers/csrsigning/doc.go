// Package csrsigning is the CSR signing controller: it issues the
// certificates of approved CertificateSigningRequests for the built-in
// kubernetes.io signers, enforcing each signer's rules, and reports a
// request it will not sign with a Failed condition rather than only a log
// line.
package csrsigning

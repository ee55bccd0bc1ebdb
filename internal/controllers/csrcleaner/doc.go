// Package csrcleaner deletes CertificateSigningRequests that have served
// their purpose: approved or denied for an hour, pending for a day, or
// carrying a certificate that has expired.
package csrcleaner

// Package caserver is kastle's standalone CA service (`kastle ca serve`),
// seed 000's CA with its two gaps closed:
//
//   - the requester's private key never has to leave it: the service signs
//     PKCS #10 requests (HTTP POST /csr with application/pkcs10, gRPC
//     SignPemCsr). The seed's subject form, where the CA makes the key, is
//     kept for compatibility; that key is handed out once, to the
//     requester only, and never stored.
//   - requester and CA authenticate each other: the service is served over
//     TLS 1.2+ with its own certificate, and with --mtls it requires client
//     certificates from its CA (revoked ones are refused at the
//     handshake); without mTLS, signing needs a bearer token from a token
//     file (compared in constant time).
//
// Who may ask for what is data (Policy): per identity, the allowed signing
// profiles, common-name and SAN glob patterns and a maximum lifetime.
// Every issuance is recorded in an append-only JSON-lines journal in the
// service's directory, which survives restarts and feeds the CRL and the
// OCSP responder.
package caserver

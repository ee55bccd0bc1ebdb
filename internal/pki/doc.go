// Package pki holds kastle's public-key infrastructure: private keys,
// certificate authorities, signing profiles, issuing, verification and the
// on-disk file layout under the data directory (kubeadm's names, so that
// people's knowledge and tools carry over).
//
// Certificates are ensured, not generated: the Ensure functions reuse valid
// files, refuse to start on a corrupt or mismatched file or on identity
// drift (wrong CN, O, SANs or usages, key not matching its certificate,
// certificate not signed by its CA, expired), and write new files atomically
// with the modes in KeyFileMode, CertFileMode and DirMode. Nothing existing is
// ever silently overwritten: the error names the file and says how to fix it.
//
// What is issued is data, not code: Profiles lists the signing profiles
// (usages and expiry, as cfssl's ca-config.json does) and Layout lists every
// certificate file (name, file base, signing CA, CN, O, profile, SAN kind).
//
// Keys are ECDSA P-256 by default, because key generation must not slow the
// server's start; RSA and P-384 are selectable with kubeadm's
// encryptionAlgorithm names. Keys are written as "EC PRIVATE KEY" (SEC 1) or
// "RSA PRIVATE KEY" (PKCS #1), which openssl and curl read directly; PKCS #8
// "PRIVATE KEY" is accepted on input.
//
// The kubeconfig subpackage writes client credentials embedded in
// kubeconfig files such as admin.conf.
package pki

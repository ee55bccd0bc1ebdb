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
// server's start; RSA, P-384 and Ed25519 are selectable with kubeadm's
// encryptionAlgorithm names. Keys are written as "EC PRIVATE KEY" (SEC 1) or
// "RSA PRIVATE KEY" (PKCS #1), which openssl and curl read directly, and
// Ed25519 as PKCS #8 "PRIVATE KEY"; every form is accepted on input, and
// password-protected "ENCRYPTED PRIVATE KEY" (PBES2: PBKDF2-HMAC-SHA256 and
// AES-256-CBC, as `openssl pkcs8` writes) is read and written.
//
// A CA issues from a PKCS #10 request (the requester keeps its key) or from
// a CertSpec; signing policy can come from cfssl's ca-config.json and
// subjects from its csr.json (ParseSigningConfig, ParseCSRRequest). CAs
// sign intermediates, CRLs (CreateCRL) and OCSP answers (OCSPRespond), and
// are pinned by the SHA-256 of their public key (CertPin, VerifyPins), in
// kubeadm's --discovery-token-ca-cert-hash form.
//
// The kubeconfig subpackage writes client credentials embedded in
// kubeconfig files such as admin.conf.
package pki

package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Store ensures certificates in one pki directory. The zero value of each
// field other than Dir has a sensible default.
type Store struct {
	// Dir is the pki directory, e.g. <data-dir>/pki; created with DirMode.
	Dir string
	// KeyAlgorithm is used for new keys only; existing keys of another
	// type are reused. "" means DefaultKeyAlgorithm.
	KeyAlgorithm KeyAlgorithm
	// Now is the clock for issuing and expiry checks; nil means time.Now.
	Now func() time.Time
	// CAKeyPassword, if set, protects CA keys at rest: EnsureCA writes a new
	// CA key as an "ENCRYPTED PRIVATE KEY" (see EncodeKeyPEMEncrypted) and
	// reads an existing one with it. Leaf keys are not affected.
	CAKeyPassword []byte
}

// now reads the store's clock.
func (s Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// paths returns the certificate and key file of base.
func (s Store) paths(base string) (certPath, keyPath string) {
	p := filepath.Join(s.Dir, filepath.FromSlash(base))
	return p + CertExt, p + KeyExt
}

// KeyPair is an ensured certificate with its key and where they live.
type KeyPair struct {
	Cert     *x509.Certificate
	Key      crypto.Signer
	CertFile string
	KeyFile  string
}

// TLSCertificate returns the pair for tls.Config.Certificates, with Leaf
// filled in so the TLS stack need not parse it again.
func (kp *KeyPair) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{kp.Cert.Raw}, PrivateKey: kp.Key, Leaf: kp.Cert}
}

// EnsureCA returns the CA stored as base.crt/base.key, creating a
// self-signed one from spec (CommonName, Validity) if neither file exists.
//
//   - Both exist: they must parse, match, be a CA (CA:TRUE, keyCertSign)
//     and be within validity. The subject is not compared with spec: an
//     operator may bring their own CA under any name.
//   - Only the certificate exists: external-CA mode. The CA is returned
//     with a nil Key; issuing from it fails with ErrExternalCA, so only
//     already valid leaves can be used.
//   - Only the key exists (a start interrupted between the two writes):
//     the key is reused and a certificate is self-signed for it.
//
// Errors are *FileError naming the file.
func (s Store) EnsureCA(base string, spec CertSpec) (*CA, error) {
	spec.IsCA = true
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := ensureDir(s.Dir); err != nil {
		return nil, err
	}
	certPath, keyPath := s.paths(base)
	certPEM, haveCert, err := readOptional(certPath)
	if err != nil {
		return nil, err
	}
	key, haveKey, err := readCAKey(keyPath, s.CAKeyPassword)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !haveCert {
		if !haveKey {
			if key, err = GenerateKey(s.KeyAlgorithm); err != nil {
				return nil, err
			}
			if err := writeCAKey(keyPath, key, s.CAKeyPassword); err != nil {
				return nil, err
			}
		}
		cert, err := selfSign(key, spec, now)
		if err != nil {
			return nil, err
		}
		if err := WriteFileAtomic(certPath, EncodeCertPEM(cert), CertFileMode, false); err != nil {
			return nil, err
		}
		return &CA{Cert: cert, Key: key, Now: s.Now}, nil
	}
	cert, err := parseCertFile(certPath, certPEM)
	if err != nil {
		return nil, err
	}
	self := CertSpec{CommonName: cert.Subject.CommonName, Organization: cert.Subject.Organization, IsCA: true}
	var k crypto.Signer
	if haveKey {
		k = key
	}
	if err := CheckCert(cert, k, nil, self, now); err != nil {
		if errors.Is(err, ErrKeyMismatch) {
			return nil, fileErr(certPath, ErrKeyMismatch, "key file %s does not belong to this certificate", keyPath)
		}
		return nil, &FileError{Path: certPath, Err: err}
	}
	return &CA{Cert: cert, Key: k, Now: s.Now}, nil
}

// EnsureLeaf returns the certificate stored as base.crt/base.key, issuing
// it from ca for spec if it does not exist.
//
//   - Both exist: they must pass CheckCert against ca and spec; a
//     certificate lacking a now requested SAN is ErrIdentityDrift. It is
//     not renewed automatically: the error says which files to remove.
//   - Only the key exists (an interrupted start): a certificate is issued
//     for it.
//   - Only the certificate exists: error, the key is lost.
//   - Issuing is needed but ca has no key: ErrExternalCA.
//
// Errors are *FileError naming the file.
func (s Store) EnsureLeaf(base string, ca *CA, spec CertSpec) (*KeyPair, error) {
	if ca == nil || ca.Cert == nil {
		return nil, errors.New("pki: EnsureLeaf: no CA")
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	certPath, keyPath := s.paths(base)
	if err := ensureDir(filepath.Dir(certPath)); err != nil {
		return nil, err
	}
	certPEM, haveCert, err := readOptional(certPath)
	if err != nil {
		return nil, err
	}
	key, haveKey, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	if haveCert {
		if !haveKey {
			return nil, fileErr(keyPath, ErrMissing, "the certificate %s exists but its key does not; restore the key, "+
				"or remove the certificate to issue a new pair", certPath)
		}
		cert, err := parseCertFile(certPath, certPEM)
		if err != nil {
			return nil, err
		}
		if err := CheckCert(cert, key, ca.Cert, spec, s.now()); err != nil {
			switch {
			case errors.Is(err, ErrKeyMismatch):
				return nil, fileErr(certPath, ErrKeyMismatch, "key file %s does not belong to this certificate", keyPath)
			case errors.Is(err, ErrIdentityDrift), errors.Is(err, ErrExpired):
				return nil, &FileError{Path: certPath, Err: fmt.Errorf("%w; to issue a new certificate remove %s and %s",
					err, certPath, keyPath)}
			}
			return nil, &FileError{Path: certPath, Err: err}
		}
		return &KeyPair{Cert: cert, Key: key, CertFile: certPath, KeyFile: keyPath}, nil
	}
	if ca.Key == nil {
		return nil, fileErr(certPath, ErrExternalCA, "cannot issue %q because the private key of CA %q is not "+
			"available; provide %s and %s signed by that CA, or provide the CA key",
			spec.CommonName, ca.Cert.Subject.CommonName, certPath, keyPath)
	}
	if !haveKey {
		if key, err = GenerateKey(s.KeyAlgorithm); err != nil {
			return nil, err
		}
		if err := writeKey(keyPath, key); err != nil {
			return nil, err
		}
	}
	issuer := *ca
	if s.Now != nil {
		issuer.Now = s.Now
	}
	cert, err := issuer.Issue(spec, key.Public())
	if err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(certPath, EncodeCertPEM(cert), CertFileMode, false); err != nil {
		return nil, err
	}
	return &KeyPair{Cert: cert, Key: key, CertFile: certPath, KeyFile: keyPath}, nil
}

// readKey reads and parses an optional key file.
func readKey(path string) (crypto.Signer, bool, error) {
	data, ok, err := readOptional(path)
	if err != nil || !ok {
		return nil, false, err
	}
	key, err := ParseKeyPEM(data)
	if err != nil {
		return nil, false, fileErr(path, ErrCorrupt, "%v", err)
	}
	return key, true, nil
}

// readCAKey is readKey that also decrypts with password, when given.
func readCAKey(path string, password []byte) (crypto.Signer, bool, error) {
	if len(password) == 0 {
		return readKey(path)
	}
	data, ok, err := readOptional(path)
	if err != nil || !ok {
		return nil, false, err
	}
	key, err := ParseKeyPEMWithPassword(data, password)
	if err != nil {
		return nil, false, fileErr(path, ErrCorrupt, "%v", err)
	}
	return key, true, nil
}

// writeCAKey writes a new CA key, encrypted when password is given.
func writeCAKey(path string, key crypto.Signer, password []byte) error {
	if len(password) == 0 {
		return writeKey(path, key)
	}
	data, err := EncodeKeyPEMEncrypted(key, password)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data, KeyFileMode, false)
}

// writeKey writes a new key file with KeyFileMode.
func writeKey(path string, key crypto.Signer) error {
	data, err := EncodeKeyPEM(key)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data, KeyFileMode, false)
}

// parseCertFile parses a certificate file's first certificate.
func parseCertFile(path string, data []byte) (*x509.Certificate, error) {
	certs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, fileErr(path, ErrCorrupt, "%v", err)
	}
	return certs[0], nil
}

package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// KeyAlgorithm names a private-key type with kubeadm's encryptionAlgorithm
// spelling. The zero value means DefaultKeyAlgorithm.
type KeyAlgorithm string

// The supported key algorithms.
const (
	ECDSAP256 KeyAlgorithm = "ECDSA-P256"
	ECDSAP384 KeyAlgorithm = "ECDSA-P384"
	RSA2048   KeyAlgorithm = "RSA-2048"
	RSA3072   KeyAlgorithm = "RSA-3072"
	RSA4096   KeyAlgorithm = "RSA-4096"
	// Ed25519 is not one of kubeadm's values; it follows their upper-case
	// style. Ed25519 keys are written as PKCS #8, the only form defined.
	Ed25519 KeyAlgorithm = "ED25519"

	// DefaultKeyAlgorithm is used when none is given: P-256 keys take
	// microseconds to generate, so a fresh server starts fast.
	DefaultKeyAlgorithm = ECDSAP256
)

// PEM block types written and read by this package.
const (
	PEMTypeCertificate   = "CERTIFICATE"
	PEMTypeECPrivateKey  = "EC PRIVATE KEY"
	PEMTypeRSAPrivateKey = "RSA PRIVATE KEY"
	PEMTypePrivateKey    = "PRIVATE KEY" // PKCS #8
	PEMTypePublicKey     = "PUBLIC KEY"  // PKIX
	// PEMTypeEncryptedPrivateKey is a PKCS #8 EncryptedPrivateKeyInfo.
	PEMTypeEncryptedPrivateKey = "ENCRYPTED PRIVATE KEY"
)

// KeyAlgorithms lists every supported algorithm, for flag help and validation.
func KeyAlgorithms() []KeyAlgorithm {
	return []KeyAlgorithm{ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096, Ed25519}
}

// orDefault resolves the zero value.
func (a KeyAlgorithm) orDefault() KeyAlgorithm {
	if a == "" {
		return DefaultKeyAlgorithm
	}
	return a
}

// Validate reports whether a is a supported algorithm (the zero value is).
func (a KeyAlgorithm) Validate() error {
	a = a.orDefault()
	for _, k := range KeyAlgorithms() {
		if a == k {
			return nil
		}
	}
	return fmt.Errorf("pki: unsupported key algorithm %q (supported: %v)", string(a), KeyAlgorithms())
}

// GenerateKey makes a new private key of the given algorithm ("" means
// DefaultKeyAlgorithm).
func GenerateKey(alg KeyAlgorithm) (crypto.Signer, error) {
	switch alg.orDefault() {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, alg.Validate()
}

// EncodeKeyPEM encodes a private key in the traditional format openssl and
// curl expect: "EC PRIVATE KEY" for ECDSA, "RSA PRIVATE KEY" for RSA, and
// PKCS #8 "PRIVATE KEY" for anything else (Ed25519).
func EncodeKeyPEM(key crypto.Signer) ([]byte, error) {
	var block pem.Block
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("pki: marshal EC key: %w", err)
		}
		block = pem.Block{Type: PEMTypeECPrivateKey, Bytes: der}
	case *rsa.PrivateKey:
		block = pem.Block{Type: PEMTypeRSAPrivateKey, Bytes: x509.MarshalPKCS1PrivateKey(k)}
	default:
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("pki: marshal %T key: %w", key, err)
		}
		block = pem.Block{Type: PEMTypePrivateKey, Bytes: der}
	}
	return pem.EncodeToMemory(&block), nil
}

// ParseKeyPEM reads the first private key in data, in SEC 1, PKCS #1 or
// PKCS #8 form. Other blocks before it (such as openssl's "EC PARAMETERS")
// are skipped. Encrypted keys are rejected.
func ParseKeyPEM(data []byte) (crypto.Signer, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no private key PEM block found")
		}
		if _, ok := block.Headers["DEK-Info"]; ok {
			return nil, fmt.Errorf("%q block is encrypted; kastle needs an unencrypted key", block.Type)
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case PEMTypeECPrivateKey:
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case PEMTypeRSAPrivateKey:
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case PEMTypePrivateKey:
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case PEMTypeEncryptedPrivateKey:
			return nil, errors.New(`"ENCRYPTED PRIVATE KEY" block; kastle needs an unencrypted key ` +
				`(or use ParseKeyPEMWithPassword)`)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %q block: %w", block.Type, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%q block holds a %T, which cannot sign", block.Type, key)
		}
		return signer, nil
	}
}

// EncodeKeyPKCS8PEM encodes any supported private key as a PKCS #8
// "PRIVATE KEY" block, the form cfssl and newer openssl write by default.
func EncodeKeyPKCS8PEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal %T key as PKCS #8: %w", key, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMTypePrivateKey, Bytes: der}), nil
}

// KeyAlgorithmOf names the algorithm of an existing key, e.g. to issue
// replacements of the same kind. It fails for unsupported key types and
// sizes.
func KeyAlgorithmOf(key crypto.Signer) (KeyAlgorithm, error) {
	switch k := key.Public().(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ECDSAP256, nil
		case elliptic.P384():
			return ECDSAP384, nil
		}
		return "", fmt.Errorf("pki: unsupported ECDSA curve %s", k.Curve.Params().Name)
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return RSA2048, nil
		case 3072:
			return RSA3072, nil
		case 4096:
			return RSA4096, nil
		}
		return "", fmt.Errorf("pki: unsupported RSA key size %d bits", k.N.BitLen())
	case ed25519.PublicKey:
		return Ed25519, nil
	}
	return "", fmt.Errorf("pki: unsupported key type %T", key)
}

// EncodePublicKeyPEM encodes a public key as a PKIX "PUBLIC KEY" block (the
// form of kubeadm's sa.pub).
func EncodePublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMTypePublicKey, Bytes: der}), nil
}

// ParsePublicKeysPEM reads every "PUBLIC KEY" block in data.
func ParsePublicKeysPEM(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != PEMTypePublicKey {
			continue
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no public key PEM block found")
	}
	return keys, nil
}

// publicKeyEqual compares two public keys by value.
func publicKeyEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// keyMatches reports whether key is the private half of pub.
func keyMatches(key crypto.Signer, pub crypto.PublicKey) bool {
	return publicKeyEqual(key.Public(), pub)
}

// subjectKeyID computes RFC 5280 §4.2.1.2 method 1: the SHA-1 of the
// subjectPublicKey bit string. SHA-1 is what the RFC specifies here; it
// is an identifier, not a security property.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := marshalSPKI(pub)
	if err != nil {
		return nil, err
	}
	// SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }
	in := cryptobyte.String(der)
	var spki cryptobyte.String
	var bits asn1.BitString
	if !in.ReadASN1(&spki, cbasn1.SEQUENCE) || !spki.SkipASN1(cbasn1.SEQUENCE) || !spki.ReadASN1BitString(&bits) {
		return nil, errors.New("pki: malformed SubjectPublicKeyInfo")
	}
	sum := sha1.Sum(bits.Bytes)
	return sum[:], nil
}

// marshalSPKI is x509.MarshalPKIXPublicKey, written directly for the
// ECDSA and Ed25519 keys that sign and are signed most (crypto/x509 goes
// through reflection-based encoding/asn1, twice per issued certificate).
func marshalSPKI(pub crypto.PublicKey) ([]byte, error) {
	var alg, param asn1.ObjectIdentifier
	var point []byte
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		alg = oidPublicKeyECDSA
		switch k.Curve {
		case elliptic.P256():
			param = oidCurveP256
		case elliptic.P384():
			param = oidCurveP384
		case elliptic.P521():
			param = oidCurveP521
		default:
			return x509.MarshalPKIXPublicKey(pub)
		}
		var err error
		if point, err = k.Bytes(); err != nil {
			return x509.MarshalPKIXPublicKey(pub)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return x509.MarshalPKIXPublicKey(pub)
		}
		alg, point = oidPublicKeyEd25519, k
	default:
		return x509.MarshalPKIXPublicKey(pub)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 32+len(point)))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(alg)
			if param != nil {
				b.AddASN1ObjectIdentifier(param)
			}
		})
		b.AddASN1BitString(point)
	})
	return b.Bytes()
}

// Public-key algorithm and curve identifiers, RFC 5480 and 8410.
var (
	oidPublicKeyECDSA   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidPublicKeyEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidCurveP256        = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidCurveP384        = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidCurveP521        = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

// keyUsageFor returns the key usage bits an end-entity certificate for pub
// should carry: key encipherment only makes sense for RSA key transport.
func keyUsageFor(pub crypto.PublicKey) x509.KeyUsage {
	ku := x509.KeyUsageDigitalSignature
	if _, ok := pub.(*rsa.PublicKey); ok {
		ku |= x509.KeyUsageKeyEncipherment
	}
	return ku
}

// CheckPublicKey rejects public keys too weak or unusual to certify: RSA
// below 2048 bits, ECDSA on curves other than P-256, P-384 and P-521, and
// anything that is not RSA, ECDSA or Ed25519.
func CheckPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("pki: RSA key of %d bits is too weak (at least 2048)", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return fmt.Errorf("pki: ECDSA curve %s not accepted (P-256, P-384, P-521)", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("pki: public key type %T not accepted (RSA, ECDSA, Ed25519)", pub)
	}
	return nil
}

package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/kastle-dev/kastle/internal/pki"
)

// MinRSAKeyBits is the smallest RSA key accepted for signing or
// verifying tokens.
const MinRSAKeyBits = 2048

// KeyID returns the "kid" Kubernetes gives tokens signed by the private
// half of pub: the unpadded base64url SHA-256 of pub's PKIX DER form.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("serviceaccount: key id: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// signingAlgorithm is the JWS algorithm used with a key: RS256 for RSA,
// ES256/ES384/ES512 for P-256/P-384/P-521. Other keys and RSA keys under
// MinRSAKeyBits are refused.
func signingAlgorithm(pub crypto.PublicKey) (jose.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSAKeyBits {
			return "", fmt.Errorf("serviceaccount: RSA key of %d bits; want at least %d", k.N.BitLen(), MinRSAKeyBits)
		}
		return jose.RS256, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", fmt.Errorf("serviceaccount: unsupported ECDSA curve %s", k.Curve.Params().Name)
	}
	return "", fmt.Errorf("serviceaccount: unsupported key type %T (want RSA or ECDSA)", pub)
}

// ParsePublicKeys reads every key in PEM data, as
// --service-account-key-file accepts them: "PUBLIC KEY" (PKIX),
// "RSA PUBLIC KEY" (PKCS #1), "CERTIFICATE" (its subject key) and private
// keys in SEC 1, PKCS #1 or PKCS #8 form (their public half). Other blocks
// are skipped. It fails if a block does not parse, a key is of an
// unsupported type, or there is no key at all.
func ParsePublicKeys(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		one := pem.EncodeToMemory(block)
		var got []crypto.PublicKey
		switch block.Type {
		case pki.PEMTypePublicKey:
			ks, err := pki.ParsePublicKeysPEM(one)
			if err != nil {
				return nil, fmt.Errorf("serviceaccount: %w", err)
			}
			got = ks
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("serviceaccount: parse RSA public key: %w", err)
			}
			got = []crypto.PublicKey{k}
		case pki.PEMTypeCertificate:
			certs, err := pki.ParseCertsPEM(one)
			if err != nil {
				return nil, fmt.Errorf("serviceaccount: %w", err)
			}
			got = []crypto.PublicKey{certs[0].PublicKey}
		case pki.PEMTypeECPrivateKey, pki.PEMTypeRSAPrivateKey, pki.PEMTypePrivateKey, "ENCRYPTED PRIVATE KEY":
			k, err := pki.ParseKeyPEM(one)
			if err != nil {
				return nil, fmt.Errorf("serviceaccount: %w", err)
			}
			got = []crypto.PublicKey{k.Public()}
		default:
			continue
		}
		for _, k := range got {
			if _, err := signingAlgorithm(k); err != nil {
				return nil, err
			}
		}
		keys = append(keys, got...)
	}
	if len(keys) == 0 {
		return nil, errors.New("serviceaccount: no public key, certificate or private key PEM block found")
	}
	return keys, nil
}

// LoadPublicKeyFiles reads the keys of every file (repeated
// --service-account-key-file flags), in order.
func LoadPublicKeyFiles(paths ...string) ([]crypto.PublicKey, error) {
	if len(paths) == 0 {
		return nil, errors.New("serviceaccount: no key file given")
	}
	var keys []crypto.PublicKey
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("serviceaccount: %w", err)
		}
		ks, err := ParsePublicKeys(data)
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, p)
		}
		keys = append(keys, ks...)
	}
	return keys, nil
}

// LoadSigningKeyFile reads the private key of
// --service-account-signing-key-file (kubeadm's sa.key). It fails for an
// encrypted key or a key that cannot sign tokens.
func LoadSigningKeyFile(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: %w", err)
	}
	k, err := pki.ParseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: %s: %w", path, err)
	}
	if _, err := signingAlgorithm(k.Public()); err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// publicOf returns the public half of k if it is a private key, so that a
// private key never reaches a JWKS document.
func publicOf(k crypto.PublicKey) crypto.PublicKey {
	if s, ok := k.(crypto.Signer); ok {
		return s.Public()
	}
	return k
}

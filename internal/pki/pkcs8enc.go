package pki

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
)

// PBKDF2Iterations is the work factor of keys written by
// EncodeKeyPEMEncrypted (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
const PBKDF2Iterations = 600_000

// maxPBKDF2Iterations bounds what a key file may ask for, so that a
// crafted file cannot pin a CPU for hours.
const maxPBKDF2Iterations = 10_000_000

// Object identifiers of RFC 8018 (PKCS #5 v2.1) and NIST's AES modes.
var (
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// encryptedPrivateKeyInfo is RFC 5958's EncryptedPrivateKeyInfo.
type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

// pbes2Params is RFC 8018's PBES2-params.
type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

// pbkdf2Params is RFC 8018's PBKDF2-params with the salt in its
// "specified" form (the only one in use).
type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// EncodeKeyPEMEncrypted writes key as an "ENCRYPTED PRIVATE KEY" block:
// PKCS #8 encrypted with PBES2 (PBKDF2-HMAC-SHA256, PBKDF2Iterations
// rounds, 16-byte salt) and AES-256-CBC, the scheme `openssl pkcs8 -topk8
// -v2 aes-256-cbc` writes and reads. The password must not be empty.
func EncodeKeyPEMEncrypted(key crypto.Signer, password []byte) ([]byte, error) {
	return encodeKeyPEMEncrypted(key, password, PBKDF2Iterations)
}

// encodeKeyPEMEncrypted is EncodeKeyPEMEncrypted with a chosen work factor.
func encodeKeyPEMEncrypted(key crypto.Signer, password []byte, iterations int) ([]byte, error) {
	if len(password) == 0 {
		return nil, errors.New("pki: encrypt key: empty password")
	}
	plain, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal %T key as PKCS #8: %w", key, err)
	}
	salt := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	dk, err := pbkdf2.Key(sha256.New, string(password), salt, iterations, 32)
	if err != nil {
		return nil, fmt.Errorf("pki: derive key: %w", err)
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		return nil, err
	}
	padded := pkcs7Pad(plain, aes.BlockSize)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(padded, padded)

	kdf, err := asn1.Marshal(pbkdf2Params{Salt: salt, IterationCount: iterations, KeyLength: 32,
		PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACWithSHA256, Parameters: asn1.NullRawValue}})
	if err != nil {
		return nil, err
	}
	ivDER, err := asn1.Marshal(iv)
	if err != nil {
		return nil, err
	}
	params, err := asn1.Marshal(pbes2Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf}},
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
	if err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm:     pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
		EncryptedData: padded,
	})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMTypeEncryptedPrivateKey, Bytes: der}), nil
}

// ParseKeyPEMWithPassword reads the first private key in data like
// ParseKeyPEM, and also decrypts an "ENCRYPTED PRIVATE KEY" block (PBES2
// with PBKDF2 over HMAC-SHA1/256/384/512 and AES-128/192/256-CBC) with
// password. A wrong password is reported as such, not as corrupt data.
func ParseKeyPEMWithPassword(data, password []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == PEMTypeEncryptedPrivateKey {
			plain, err := decryptPKCS8(block.Bytes, password)
			if err != nil {
				return nil, err
			}
			key, err := x509.ParsePKCS8PrivateKey(plain)
			if err != nil {
				return nil, fmt.Errorf("pki: decrypted key does not parse (wrong password?): %w", err)
			}
			signer, ok := key.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("pki: encrypted key holds a %T, which cannot sign", key)
			}
			return signer, nil
		}
		switch block.Type {
		case PEMTypeECPrivateKey, PEMTypeRSAPrivateKey, PEMTypePrivateKey:
			return ParseKeyPEM(pem.EncodeToMemory(block))
		}
	}
	return nil, errors.New("no private key PEM block found")
}

// decryptPKCS8 undoes PBES2 on an EncryptedPrivateKeyInfo.
func decryptPKCS8(der, password []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("pki: parse encrypted private key: malformed EncryptedPrivateKeyInfo (%v)", err)
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("pki: encrypted private key uses scheme %v; only PBES2 (%v) is supported",
			info.Algorithm.Algorithm, oidPBES2)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("pki: parse PBES2 parameters: %w", err)
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("pki: PBES2 key derivation %v is not PBKDF2", params.KeyDerivationFunc.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("pki: parse PBKDF2 parameters: %w", err)
	}
	if kdf.IterationCount < 1 || kdf.IterationCount > maxPBKDF2Iterations {
		return nil, fmt.Errorf("pki: PBKDF2 iteration count %d out of range 1–%d", kdf.IterationCount, maxPBKDF2Iterations)
	}
	var prf func() hash.Hash
	switch alg := kdf.PRF.Algorithm; {
	case len(alg) == 0 || alg.Equal(oidHMACWithSHA1): // the RFC's default
		prf = sha1.New
	case alg.Equal(oidHMACWithSHA256):
		prf = sha256.New
	case alg.Equal(oidHMACWithSHA384):
		prf = sha512.New384
	case alg.Equal(oidHMACWithSHA512):
		prf = sha512.New
	default:
		return nil, fmt.Errorf("pki: unsupported PBKDF2 pseudo-random function %v", alg)
	}
	var keyLen int
	switch alg := params.EncryptionScheme.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen = 16
	case alg.Equal(oidAES192CBC):
		keyLen = 24
	case alg.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, fmt.Errorf("pki: unsupported PBES2 cipher %v (AES-CBC only)", alg)
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, fmt.Errorf("pki: PBKDF2 key length %d does not fit the cipher's %d", kdf.KeyLength, keyLen)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("pki: AES-CBC parameters: want a %d-byte IV (got %d bytes, %v)", aes.BlockSize, len(iv), err)
	}
	if len(info.EncryptedData) == 0 || len(info.EncryptedData)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("pki: encrypted key length %d is not a positive multiple of %d",
			len(info.EncryptedData), aes.BlockSize)
	}
	dk, err := pbkdf2.Key(prf, string(password), kdf.Salt, kdf.IterationCount, keyLen)
	if err != nil {
		return nil, fmt.Errorf("pki: derive key: %w", err)
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		return nil, err
	}
	plain := bytes.Clone(info.EncryptedData)
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, plain)
	out, ok := pkcs7Unpad(plain, aes.BlockSize)
	if !ok {
		return nil, errors.New("pki: decrypt private key: wrong password or corrupt data (bad padding)")
	}
	return out, nil
}

// pkcs7Pad appends RFC 5652 padding.
func pkcs7Pad(b []byte, size int) []byte {
	n := size - len(b)%size
	return append(bytes.Clone(b), bytes.Repeat([]byte{byte(n)}, n)...)
}

// pkcs7Unpad removes RFC 5652 padding, checking every pad byte in constant
// time with respect to their values.
func pkcs7Unpad(b []byte, size int) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	n := int(b[len(b)-1])
	if n == 0 || n > size || n > len(b) {
		return nil, false
	}
	if !hmac.Equal(b[len(b)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return nil, false
	}
	return b[:len(b)-n], true
}

package encryption

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/secretbox"
)

// Transformer turns values into what is stored in etcd and back. dataCtx
// is the etcd key of the value; aesgcm authenticates it, and every
// encrypting provider refuses an empty one.
type Transformer interface {
	// TransformToStorage returns the bytes to store for data.
	TransformToStorage(ctx context.Context, data []byte, dataCtx string) ([]byte, error)
	// TransformFromStorage returns the plain value of stored data. stale
	// is true when the value was not written by the current write
	// provider and key: rewriting it re-encrypts it.
	TransformFromStorage(ctx context.Context, data []byte, dataCtx string) (out []byte, stale bool, err error)
}

// encPrefix starts every encrypted value.
const encPrefix = "k8s:enc:"

// Errors a caller may test for with errors.Is.
var (
	// ErrNotEncrypted is returned reading a plain value of a resource
	// whose providers do not include identity.
	ErrNotEncrypted = errors.New("the stored value is not encrypted and identity is not an allowed provider")
	// ErrUnknownKey is returned reading a value encrypted with a
	// provider or key the configuration does not list.
	ErrUnknownKey = errors.New("the stored value is encrypted with a provider or key that is not configured")
	// ErrDecrypt is returned when a value does not decrypt: wrong key,
	// tampered or truncated ciphertext, or (aesgcm) another etcd key.
	ErrDecrypt = errors.New("the stored value could not be decrypted")
)

// Transformers holds one Transformer per configured resource entry. It is
// immutable and safe for concurrent use; to change keys, build a new one.
type Transformers struct {
	entries []entry
}

type entry struct {
	patterns []resourcePattern
	t        *chain
}

// New validates c and builds its transformers.
// A nil configuration is an error; use Disabled for no encryption.
func New(c *EncryptionConfiguration) (*Transformers, error) {
	if c == nil {
		return nil, errors.New("encryption: no configuration")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ts := &Transformers{}
	for _, rc := range c.Resources {
		e := entry{t: &chain{}}
		for _, r := range rc.Resources {
			p, _ := parseResource(r) // validated above
			e.patterns = append(e.patterns, p)
		}
		for i, pc := range rc.Providers {
			if pc.Identity != nil {
				e.t.identity = true
				e.t.identityFirst = i == 0
				continue
			}
			ks, err := keysOf(pc)
			if err != nil {
				return nil, err
			}
			e.t.keys = append(e.t.keys, ks...)
		}
		ts.entries = append(ts.entries, e)
	}
	return ts, nil
}

// Disabled returns Transformers that store every resource as is (and
// refuse to read encrypted values): the explicit "no encryption at rest".
func Disabled() *Transformers { return &Transformers{} }

// ForResource returns the transformer of group/resource ("" is the core
// group): that of the first configuration entry matching it, else
// identity. On a nil receiver every call fails.
func (ts *Transformers) ForResource(group, resource string) Transformer {
	if ts == nil {
		return failing{}
	}
	for _, e := range ts.entries {
		for _, p := range e.patterns {
			if p.matches(group, resource) {
				return e.t
			}
		}
	}
	return plain{}
}

// keysOf builds the sealers of one provider, in key order.
func keysOf(pc ProviderConfiguration) ([]*sealer, error) {
	var out []*sealer
	switch {
	case pc.AESGCM != nil:
		for _, k := range pc.AESGCM.Keys {
			b, err := decodeSecret(k, []int{16, 24, 32})
			if err != nil {
				return nil, err
			}
			block, err := aes.NewCipher(b)
			if err != nil {
				return nil, err
			}
			aead, err := cipher.NewGCM(block)
			if err != nil {
				return nil, err
			}
			out = append(out, &sealer{prefix: prefix(ProviderAESGCM, k.Name), gcm: aead})
		}
	case pc.AESCBC != nil:
		for _, k := range pc.AESCBC.Keys {
			b, err := decodeSecret(k, []int{16, 24, 32})
			if err != nil {
				return nil, err
			}
			block, err := aes.NewCipher(b)
			if err != nil {
				return nil, err
			}
			out = append(out, &sealer{prefix: prefix(ProviderAESCBC, k.Name), cbc: block})
		}
	case pc.Secretbox != nil:
		for _, k := range pc.Secretbox.Keys {
			b, err := decodeSecret(k, []int{32})
			if err != nil {
				return nil, err
			}
			s := &sealer{prefix: prefix(ProviderSecretbox, k.Name), box: new([32]byte)}
			copy(s.box[:], b)
			out = append(out, s)
		}
	}
	return out, nil
}

func prefix(provider, key string) []byte {
	return []byte(encPrefix + provider + ":v1:" + key + ":")
}

// chain is the transformer of one resource entry: keys in provider then
// key order, and whether identity is allowed (and first).
type chain struct {
	keys          []*sealer
	identity      bool
	identityFirst bool
}

var _ Transformer = (*chain)(nil)

// TransformToStorage encrypts with the first provider's first key, or
// stores data as is when identity is first.
func (c *chain) TransformToStorage(_ context.Context, data []byte, dataCtx string) ([]byte, error) {
	if c.identityFirst {
		return data, nil
	}
	if dataCtx == "" {
		return nil, errors.New("encryption: empty data context (etcd key)")
	}
	return c.keys[0].seal(data, dataCtx)
}

// TransformFromStorage decrypts with the key the value's prefix names.
// Plain values are returned when identity is listed.
func (c *chain) TransformFromStorage(_ context.Context, data []byte, dataCtx string) ([]byte, bool, error) {
	for i, s := range c.keys {
		if !bytes.HasPrefix(data, s.prefix) {
			continue
		}
		if dataCtx == "" {
			return nil, false, errors.New("encryption: empty data context (etcd key)")
		}
		out, err := s.open(data[len(s.prefix):], dataCtx)
		if err != nil {
			return nil, false, fmt.Errorf("%w with %s", err, bytes.TrimSuffix(s.prefix[len(encPrefix):], []byte(":")))
		}
		return out, i != 0 || c.identityFirst, nil
	}
	if bytes.HasPrefix(data, []byte(encPrefix)) {
		return nil, false, unknownKey(data)
	}
	if !c.identity {
		return nil, false, ErrNotEncrypted
	}
	return data, !c.identityFirst, nil
}

// unknownKey names the provider and key of an unreadable value.
func unknownKey(data []byte) error {
	rest := data[len(encPrefix):]
	// <provider>:v1:<key>:
	parts := bytes.SplitN(rest, []byte(":"), 4)
	if len(parts) == 4 && len(parts[0]) < 32 && len(parts[2]) < 256 {
		return fmt.Errorf("%w (provider %q, key %q)", ErrUnknownKey, parts[0], parts[2])
	}
	return ErrUnknownKey
}

// sealer encrypts and decrypts with one key of one provider; exactly one
// of gcm, cbc and box is set.
type sealer struct {
	prefix []byte
	gcm    cipher.AEAD
	cbc    cipher.Block
	box    *[32]byte
}

// seal returns prefix + nonce/IV + ciphertext in one allocation.
func (s *sealer) seal(data []byte, dataCtx string) ([]byte, error) {
	p := len(s.prefix)
	switch {
	case s.gcm != nil:
		n := s.gcm.NonceSize()
		out := make([]byte, p+n, p+n+len(data)+s.gcm.Overhead())
		copy(out, s.prefix)
		nonce := out[p : p+n]
		_, _ = rand.Read(nonce) // crypto/rand.Read never fails.
		return s.gcm.Seal(out, nonce, data, []byte(dataCtx)), nil
	case s.cbc != nil:
		pad := aes.BlockSize - len(data)%aes.BlockSize
		out := make([]byte, p+aes.BlockSize+len(data)+pad)
		copy(out, s.prefix)
		iv := out[p : p+aes.BlockSize]
		_, _ = rand.Read(iv)
		body := out[p+aes.BlockSize:]
		copy(body, data)
		for i := len(data); i < len(body); i++ {
			body[i] = byte(pad)
		}
		cipher.NewCBCEncrypter(s.cbc, iv).CryptBlocks(body, body)
		return out, nil
	default:
		var nonce [24]byte
		_, _ = rand.Read(nonce[:])
		out := make([]byte, p+len(nonce), p+len(nonce)+len(data)+secretbox.Overhead)
		copy(out, s.prefix)
		copy(out[p:], nonce[:])
		return secretbox.Seal(out, data, &nonce, s.box), nil
	}
}

// open decrypts ct (the value without its prefix).
func (s *sealer) open(ct []byte, dataCtx string) ([]byte, error) {
	switch {
	case s.gcm != nil:
		n := s.gcm.NonceSize()
		if len(ct) < n+s.gcm.Overhead() {
			return nil, fmt.Errorf("%w: %d bytes is too short", ErrDecrypt, len(ct))
		}
		out, err := s.gcm.Open(nil, ct[:n], ct[n:], []byte(dataCtx))
		if err != nil {
			return nil, ErrDecrypt
		}
		return out, nil
	case s.cbc != nil:
		if len(ct) < 2*aes.BlockSize || len(ct)%aes.BlockSize != 0 {
			return nil, fmt.Errorf("%w: %d bytes is not IV plus whole blocks", ErrDecrypt, len(ct))
		}
		out := make([]byte, len(ct)-aes.BlockSize)
		cipher.NewCBCDecrypter(s.cbc, ct[:aes.BlockSize]).CryptBlocks(out, ct[aes.BlockSize:])
		n, ok := unpad(out)
		if !ok {
			return nil, ErrDecrypt
		}
		return out[:n], nil
	default:
		if len(ct) < 24+secretbox.Overhead {
			return nil, fmt.Errorf("%w: %d bytes is too short", ErrDecrypt, len(ct))
		}
		var nonce [24]byte
		copy(nonce[:], ct)
		out, ok := secretbox.Open(nil, ct[24:], &nonce, s.box)
		if !ok {
			return nil, ErrDecrypt
		}
		return out, nil
	}
}

// unpad checks PKCS#7 padding without branching on the pad bytes and
// returns the unpadded length.
func unpad(b []byte) (int, bool) {
	pad := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	// Check the last BlockSize bytes: those within the pad must equal it.
	for i := 1; i <= aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, pad)
		same := subtle.ConstantTimeByteEq(b[len(b)-i], byte(pad))
		good &= same | (inPad ^ 1)
	}
	if good != 1 {
		return 0, false
	}
	return len(b) - pad, true
}

// plain is identity for unconfigured resources: it refuses encrypted
// values rather than return ciphertext as data.
type plain struct{}

var _ Transformer = plain{}

func (plain) TransformToStorage(_ context.Context, data []byte, _ string) ([]byte, error) {
	return data, nil
}

func (plain) TransformFromStorage(_ context.Context, data []byte, _ string) ([]byte, bool, error) {
	if bytes.HasPrefix(data, []byte(encPrefix)) {
		return nil, false, unknownKey(data)
	}
	return data, false, nil
}

// failing is what a nil *Transformers hands out.
type failing struct{}

var _ Transformer = failing{}

var errNoTransformers = errors.New("encryption: no transformers configured (nil *Transformers)")

func (failing) TransformToStorage(context.Context, []byte, string) ([]byte, error) {
	return nil, errNoTransformers
}

func (failing) TransformFromStorage(context.Context, []byte, string) ([]byte, bool, error) {
	return nil, false, errNoTransformers
}

package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// errTBSCaptured stops x509.CreateCertificate once it has handed over the
// to-be-signed bytes.
var errTBSCaptured = errors.New("pki: TBS captured")

// tbsCapture is a crypto.MessageSigner that records what it is asked to
// sign instead of signing it.
type tbsCapture struct {
	pub  crypto.PublicKey
	tbs  []byte
	opts crypto.SignerOpts
}

// Public returns the real signer's public key, which selects the
// signature algorithm written into the TBS.
func (c *tbsCapture) Public() crypto.PublicKey { return c.pub }

// Sign is never used: x509 prefers SignMessage.
func (c *tbsCapture) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("pki: tbsCapture needs SignMessage")
}

// SignMessage records the TBS and the options and aborts the creation.
func (c *tbsCapture) SignMessage(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.tbs, c.opts = append([]byte(nil), msg...), opts
	return nil, errTBSCaptured
}

// createCertificateDER is x509.CreateCertificate without its verification
// of the fresh signature. That check guards against faulty opaque signers
// (HSMs); for the standard library's own in-memory keys it is a second
// public-key operation per certificate, about a quarter of a CA service's
// CPU per issued certificate (docs/performance.md). Other key types take
// the standard path. The TBS comes from encodeTBS, or from crypto/x509 for
// what that does not cover.
func createCertificateDER(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) ([]byte, error) {
	switch key.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	}
	tbs, alg, hash, ok := encodeTBS(tmpl, parent, pub, key)
	var opts crypto.SignerOpts = hash
	if !ok {
		capture := &tbsCapture{pub: key.Public()}
		_, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, capture)
		if !errors.Is(err, errTBSCaptured) {
			if err == nil {
				err = errors.New("pki: signer was not called")
			}
			return nil, err
		}
		tbs, opts = capture.tbs, capture.opts
		// The signature algorithm is the TBS's third field; the outer one
		// must be identical (RFC 5280 §4.1.1.2).
		in := cryptobyte.String(tbs)
		var body, algElem cryptobyte.String
		if !in.ReadASN1(&body, cbasn1.SEQUENCE) ||
			!body.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
			!body.SkipASN1(cbasn1.INTEGER) ||
			!body.ReadASN1Element(&algElem, cbasn1.SEQUENCE) {
			return nil, errors.New("pki: malformed TBSCertificate")
		}
		alg = algElem
	}
	sig, err := crypto.SignMessage(key, rand.Reader, tbs, opts)
	if err != nil {
		return nil, fmt.Errorf("pki: sign certificate: %w", err)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)+len(alg)+len(sig)+16))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(alg)
		b.AddASN1BitString(sig)
	})
	return b.Bytes()
}

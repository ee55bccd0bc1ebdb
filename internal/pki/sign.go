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

// createCertificate is x509.CreateCertificate without its verification of
// the fresh signature. That check guards against faulty opaque signers
// (HSMs); for the standard library's own in-memory keys it is a second
// public-key operation per certificate, about a quarter of a CA service's
// CPU per issued certificate (docs/performance.md). Other key types take
// the standard path. The certificate is parsed before it is returned.
func createCertificate(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	switch key.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(der)
	}
	capture := &tbsCapture{pub: key.Public()}
	_, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, capture)
	if !errors.Is(err, errTBSCaptured) {
		if err == nil {
			err = errors.New("pki: signer was not called")
		}
		return nil, err
	}
	sig, err := crypto.SignMessage(key, rand.Reader, capture.tbs, capture.opts)
	if err != nil {
		return nil, fmt.Errorf("pki: sign certificate: %w", err)
	}
	// The signature algorithm is the TBS's third field; the outer one must
	// be identical (RFC 5280 §4.1.1.2).
	in := cryptobyte.String(capture.tbs)
	var body, alg cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) ||
		!body.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!body.SkipASN1(cbasn1.INTEGER) ||
		!body.ReadASN1Element(&alg, cbasn1.SEQUENCE) {
		return nil, errors.New("pki: malformed TBSCertificate")
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(capture.tbs)
		b.AddBytes(alg)
		b.AddASN1BitString(sig)
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

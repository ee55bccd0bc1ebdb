package pki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"io"
	"testing"
	"time"
)

// opaqueSigner hides the key type, as an HSM-backed signer would.
type opaqueSigner struct{ k crypto.Signer }

func (o opaqueSigner) Public() crypto.PublicKey { return o.k.Public() }
func (o opaqueSigner) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.k.Sign(r, d, opts)
}

// TestCreateCertificateMatchesStdlib checks that the fast path produces the
// very TBSCertificate and signature algorithm x509.CreateCertificate does,
// with a valid signature, for every CA key type.
func TestCreateCertificateMatchesStdlib(t *testing.T) {
	for _, alg := range []KeyAlgorithm{ECDSAP256, ECDSAP384, RSA2048, Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			ca, err := NewSelfSignedCA("ca-"+string(alg), alg, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			leaf, _ := GenerateKey(ECDSAP256)
			tmpl, err := template(CertSpec{CommonName: "leaf", DNSNames: []string{"leaf.example.com"},
				Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: time.Hour}, leaf.Public(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for name, key := range map[string]crypto.Signer{"fast": ca.Key, "opaque": opaqueSigner{ca.Key}} {
				got, err := createCertificate(tmpl, ca.Cert, leaf.Public(), key)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, leaf.Public(), ca.Key)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := x509.ParseCertificate(der)
				if !bytes.Equal(got.RawTBSCertificate, want.RawTBSCertificate) || got.SignatureAlgorithm != want.SignatureAlgorithm {
					t.Errorf("%s: TBS or signature algorithm differs from x509.CreateCertificate's", name)
				}
				if err := got.CheckSignatureFrom(ca.Cert); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}

package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// opaqueSigner hides the key type, as an HSM-backed signer would.
type opaqueSigner struct{ k crypto.Signer }

func (o opaqueSigner) Public() crypto.PublicKey { return o.k.Public() }
func (o opaqueSigner) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.k.Sign(r, d, opts)
}

// createCertificate is createCertificateDER, parsed.
func createCertificate(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	der, err := createCertificateDER(tmpl, parent, pub, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// TestIssueDERFields checks that IssueDER's fields are those of the
// certificate it returns, with several values per attribute (which the
// encoding reorders) and a clock with nanoseconds.
func TestIssueDERFields(t *testing.T) {
	ca, err := NewSelfSignedCA("ca", ECDSAP256, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca.Now = func() time.Time { return time.Date(2026, 12, 6, 11, 0, 0, 999999999, time.Local) }
	leaf, _ := GenerateKey(ECDSAP256)
	for _, spec := range []CertSpec{
		{CommonName: "one", Organization: []string{"system:masters"}},
		{CommonName: "many", Organization: []string{"zeta", "alpha", "北京"}, OrganizationalUnit: []string{"b", "a"},
			Country: []string{"FR", "DE"}},
		{CommonName: "long", Validity: 48 * time.Hour},
	} {
		spec.Usages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		if spec.Validity == 0 {
			spec.Validity = time.Hour
		}
		out, err := ca.IssueDER(spec, leaf.Public())
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(out.DER)
		if err != nil {
			t.Fatal(err)
		}
		if out.Subject.String() != cert.Subject.String() || out.SerialNumber.Cmp(cert.SerialNumber) != 0 ||
			!out.NotAfter.Equal(cert.NotAfter) || out.NotAfter.Location() != time.UTC {
			t.Errorf("%s: IssueDER says %q %v %v, the certificate %q %v %v", spec.CommonName, out.Subject, out.SerialNumber,
				out.NotAfter, cert.Subject, cert.SerialNumber, cert.NotAfter)
		}
	}
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

// stdlibTBS returns the TBSCertificate x509.CreateCertificate writes for
// tmpl, and the options it signs with.
func stdlibTBS(t *testing.T, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) ([]byte, crypto.SignerOpts, error) {
	t.Helper()
	c := &tbsCapture{pub: key.Public()}
	_, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, c)
	if errors.Is(err, errTBSCaptured) {
		return c.tbs, c.opts, nil
	}
	if err == nil {
		t.Fatal("x509.CreateCertificate did not call the signer")
	}
	return nil, nil, err
}

// TestEncodeTBSMatchesStdlib compares the hand-written TBSCertificate
// encoder byte for byte with crypto/x509's over random templates: every
// key type as issuer and subject, every subject attribute (several values,
// PrintableString and UTF8String), every SAN kind, every extended usage,
// key usage bits, CA path lengths, AIA and CRL distribution points, dates
// on both sides of 2050, root and intermediate issuers.
func TestEncodeTBSMatchesStdlib(t *testing.T) {
	algs := []KeyAlgorithm{ECDSAP256, ECDSAP384, RSA2048, Ed25519}
	keys := map[KeyAlgorithm]crypto.Signer{}
	for _, a := range algs {
		k, err := GenerateKey(a)
		if err != nil {
			t.Fatal(err)
		}
		keys[a] = k
	}
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	var issuers []*CA
	for _, a := range algs {
		root, err := NewSelfSignedCA("root-"+string(a), a, 20*365*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		inter, err := root.NewIntermediate("inter "+string(a)+" *&", a, 10*365*24*time.Hour, -1)
		if err != nil {
			t.Fatal(err)
		}
		issuers = append(issuers, root, inter)
	}
	p521CA := &CA{Key: p521}
	if p521CA.Cert, _ = selfSign(p521, CertSpec{CommonName: "root-p521", Validity: time.Hour}, time.Now()); p521CA.Cert == nil {
		t.Fatal("P-521 root")
	}
	issuers = append(issuers, p521CA)

	rng := mrand.New(mrand.NewPCG(1, 6))
	pick := func(pool []string) []string {
		var out []string
		for n := rng.IntN(4); n > 0; n-- {
			out = append(out, pool[rng.IntN(len(pool))])
		}
		return out
	}
	strs := []string{"a", "Zeta", "kastle-dev", "x*y", "R&D", "北京", "o'brien (x)", "a+b/c:d=e?", "", "zz", "A"}
	names := []string{"a.example.com", "*.svc", "localhost", "node-1"}
	allEKU := []x509.ExtKeyUsage{}
	for u := range extKeyUsageOIDs {
		allEKU = append(allEKU, u)
	}
	slices.Sort(allEKU)
	now := time.Date(2026, 12, 6, 11, 0, 0, 123456789, time.FixedZone("x", 3600))
	encoded := 0
	defer func() {
		// Most random templates are valid; they must take the fast path.
		if encoded < 500 {
			t.Errorf("only %d of 600 templates compared", encoded)
		}
	}()
	for i := 0; i < 600; i++ {
		ca := issuers[rng.IntN(len(issuers))]
		subj := keys[algs[rng.IntN(len(algs))]]
		spec := CertSpec{
			CommonName: strs[rng.IntN(len(strs)-3)], Organization: pick(strs), OrganizationalUnit: pick(strs),
			Country: pick([]string{"DE", "CN", "FR"}), Province: pick(strs), Locality: pick(strs),
			DNSNames: pick(names), EmailAddresses: pick([]string{"a@b.c", "ops@example.com"}),
			Validity:    time.Duration(1+rng.IntN(40*365)) * 24 * time.Hour,
			OCSPServers: pick([]string{"http://ocsp.example.com"}), IssuingCertificateURL: pick([]string{"http://ca.example.com/ca.crt"}),
			CRLDistributionPoints: pick([]string{"http://ca.example.com/crl", "ldap://x"}),
		}
		if spec.CommonName == "" {
			spec.CommonName = "cn"
		}
		for _, ip := range pick([]string{"127.0.0.1", "::1", "10.0.0.7", "::ffff:10.1.2.3", "2001:db8::5"}) {
			spec.IPs = append(spec.IPs, net.ParseIP(ip))
		}
		for _, u := range pick([]string{"spiffe://cluster.local/ns/a/sa/b", "https://example.com/x?y=z"}) {
			pu, _ := url.Parse(u)
			spec.URIs = append(spec.URIs, pu)
		}
		for n := rng.IntN(4); n > 0; n-- {
			spec.Usages = append(spec.Usages, allEKU[rng.IntN(len(allEKU))])
		}
		if rng.IntN(3) == 0 {
			spec.KeyUsage = x509.KeyUsage(rng.IntN(1 << 9))
		}
		if rng.IntN(4) == 0 {
			spec.IsCA = true
			spec.MaxPathLen, spec.MaxPathLenZero = rng.IntN(3), rng.IntN(2) == 0
		}
		if rng.IntN(10) == 0 {
			// Same subject as the issuer: no authority key id.
			spec = CertSpec{CommonName: ca.Cert.Subject.CommonName, Usages: spec.Usages, Validity: time.Hour}
		}
		tmpl, err := template(spec, subj.Public(), now.Add(-time.Duration(rng.IntN(1e6))*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		want, wantOpts, wantErr := stdlibTBS(t, tmpl, ca.Cert, subj.Public(), ca.Key)
		got, alg, hash, ok := encodeTBS(tmpl, ca.Cert, subj.Public(), ca.Key)
		if wantErr != nil {
			if ok {
				t.Errorf("case %d: x509 refuses (%v) what encodeTBS encodes", i, wantErr)
			}
			continue
		}
		if !ok {
			t.Errorf("case %d: encodeTBS left %+v to crypto/x509", i, spec)
			continue
		}
		encoded++
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d (%+v): TBS differs\n got %x\nwant %x", i, spec, got, want)
		}
		if hash != wantOpts.HashFunc() {
			t.Errorf("case %d: hash %v, x509 signs with %v", i, hash, wantOpts.HashFunc())
		}
		var body, wantAlg cryptobyte.String
		in := cryptobyte.String(want)
		in.ReadASN1(&body, cbasn1.SEQUENCE)
		body.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific())
		body.SkipASN1(cbasn1.INTEGER)
		body.ReadASN1Element(&wantAlg, cbasn1.SEQUENCE)
		if !bytes.Equal(alg, wantAlg) {
			t.Errorf("case %d: signature algorithm %x, want %x", i, alg, []byte(wantAlg))
		}
	}
}

// TestEncodeTBSFallsBack checks that templates outside the encoder's
// reach go to crypto/x509, which reports their errors.
func TestEncodeTBSFallsBack(t *testing.T) {
	ca, err := NewSelfSignedCA("ca", ECDSAP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := GenerateKey(ECDSAP256)
	base := func() *x509.Certificate {
		tmpl, err := template(CertSpec{CommonName: "leaf", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			Validity: time.Hour}, leaf.Public(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tmpl
	}
	other, _ := GenerateKey(ECDSAP256)
	for _, tc := range []struct {
		name    string
		edit    func(*x509.Certificate)
		key     crypto.Signer
		wantErr bool
	}{
		{"non-ASCII DNS name", func(c *x509.Certificate) { c.DNSNames = []string{"bücher.example"} }, ca.Key, true},
		{"invalid UTF-8 subject", func(c *x509.Certificate) { c.Subject.CommonName = "\xff" }, ca.Key, true},
		{"extra extension", func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}}
		}, ca.Key, false},
		{"unknown extended usage", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{99} }, ca.Key, true},
		{"path length on a leaf", func(c *x509.Certificate) { c.MaxPathLen = 2 }, ca.Key, true},
		{"key does not match the issuer", func(*x509.Certificate) {}, other, true},
		{"street address", func(c *x509.Certificate) { c.Subject.StreetAddress = []string{"Main St"} }, ca.Key, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := base()
			tc.edit(tmpl)
			if _, _, _, ok := encodeTBS(tmpl, ca.Cert, leaf.Public(), tc.key); ok {
				t.Fatal("encodeTBS encoded it")
			}
			_, err := createCertificate(tmpl, ca.Cert, leaf.Public(), tc.key)
			if (err != nil) != tc.wantErr {
				t.Fatalf("createCertificate: err = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// TestSubjectKeyID checks RFC 5280 §4.2.1.2 method 1 for every key type
// against the subjectPublicKey bit string encoding/asn1 reads.
func TestSubjectKeyID(t *testing.T) {
	for _, alg := range []KeyAlgorithm{ECDSAP256, ECDSAP384, RSA2048, Ed25519} {
		key, err := GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(key.Public())
		var spki struct {
			Algorithm pkix.AlgorithmIdentifier
			PublicKey asn1.BitString
		}
		if _, err := asn1.Unmarshal(der, &spki); err != nil {
			t.Fatal(err)
		}
		want := sha1.Sum(spki.PublicKey.Bytes)
		got, err := subjectKeyID(key.Public())
		if err != nil || !bytes.Equal(got, want[:]) {
			t.Errorf("%s: subjectKeyID = %x, %v; want %x", alg, got, err, want)
		}
	}
	if _, err := subjectKeyID(struct{}{}); err == nil {
		t.Error("subjectKeyID accepted an unknown key type")
	}
}

// TestMarshalSPKI compares the direct SubjectPublicKeyInfo encoding with
// crypto/x509's for every key type.
func TestMarshalSPKI(t *testing.T) {
	keys := []crypto.PublicKey{}
	for _, alg := range []KeyAlgorithm{ECDSAP256, ECDSAP384, RSA2048, Ed25519} {
		k, err := GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.Public())
	}
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	keys = append(keys, p521.Public(), p224.Public())
	for _, pub := range keys {
		want, wantErr := x509.MarshalPKIXPublicKey(pub)
		got, err := marshalSPKI(pub)
		if !bytes.Equal(got, want) || (err != nil) != (wantErr != nil) {
			t.Errorf("%T: marshalSPKI = %x, %v; x509 %x, %v", pub, got, err, want, wantErr)
		}
	}
	if _, err := marshalSPKI(struct{}{}); err == nil {
		t.Error("marshalSPKI accepted an unknown key type")
	}
}

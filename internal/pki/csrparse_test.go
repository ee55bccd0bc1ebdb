package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// compareCSRParsers parses der with the hand-written parser and with
// crypto/x509 and fails t unless they agree: a request the parser handles
// must be one crypto/x509 accepts, with a reflect.DeepEqual result (every
// field, the deprecated Attributes and the Raw* slices included; the
// public keys hold no unexported state). ParseCSRDER must give crypto/x509's
// answer, errors included. It reports whether the parser handled der.
func compareCSRParsers(t testing.TB, der []byte) bool {
	t.Helper()
	want, wantErr := x509.ParseCertificateRequest(der)
	got, handled := parseCSR(der)
	if handled {
		if wantErr != nil {
			t.Fatalf("parser accepted a request crypto/x509 rejects (%v):\n%x", wantErr, der)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("parser and crypto/x509 differ:\n%s\nDER %x", csrDiff(got, want), der)
		}
	}
	viaAPI, err := ParseCSRDER(der)
	// encoding/asn1's messages print a pointer; the rest must be the same.
	if pointer.ReplaceAllString(fmt.Sprint(err), "") != pointer.ReplaceAllString(fmt.Sprint(wantErr), "") || !reflect.DeepEqual(viaAPI, want) {
		t.Fatalf("ParseCSRDER = %v, %v; crypto/x509 %v, %v", viaAPI, err, want, wantErr)
	}
	return handled
}

var pointer = regexp.MustCompile(`0x[0-9a-f]+`)

// csrDiff names the fields of two requests that differ, for a readable
// failure.
func csrDiff(got, want *x509.CertificateRequest) string {
	var b strings.Builder
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := 0; i < g.NumField(); i++ {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			fmt.Fprintf(&b, "%s:\n  parser   %#v\n  crypto/x509 %#v\n", g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
	return b.String()
}

// csrTestKeys are one key of each type and size the tests sign with.
func csrTestKeys(t testing.TB) []crypto.Signer {
	t.Helper()
	var keys []crypto.Signer
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521(), elliptic.P224()} {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return append(keys, r, ed)
}

// randomCSRs makes n requests with x509.CreateCertificateRequest from
// random templates: every key type (P-224, which the parser leaves to
// crypto/x509, included), each signature algorithm crypto/x509 offers for
// it, subjects with several values per attribute in PrintableString,
// UTF8String and (through ExtraNames) IA5String, SANs of every kind, and
// extra extensions with odd OIDs, critical flags and duplicates.
func randomCSRs(t testing.TB, n int, seed uint64) [][]byte {
	t.Helper()
	keys := csrTestKeys(t)
	rng := mrand.New(mrand.NewPCG(seed, 10))
	pick := func(pool []string) []string {
		var out []string
		for k := rng.IntN(4); k > 0; k-- {
			out = append(out, pool[rng.IntN(len(pool))])
		}
		return out
	}
	strs := []string{"a", "Zeta", "kastle-dev", "x*y", "R&D", "北京", "o'brien (x)", "a+b/c:d=e?", "", "system:masters", "é", "tab\there", "A"}
	sigAlgs := map[string][]x509.SignatureAlgorithm{
		"ecdsa":   {0, x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512},
		"rsa":     {0, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA, x509.SHA256WithRSAPSS},
		"ed25519": {0},
	}
	extOIDs := []asn1.ObjectIdentifier{
		{2, 5, 29, 15}, {2, 5, 29, 19}, {2, 5, 29, 37}, {1, 3, 6, 1, 4, 1, 11129, 2, 4, 2},
		{1, 2, 3}, {2, 999, 2147483647}, {1, 39, 128, 16384}, {2, 80, 1},
	}
	var out [][]byte
	for i := 0; i < n; i++ {
		key := keys[rng.IntN(len(keys))]
		var algs []x509.SignatureAlgorithm
		switch key.(type) {
		case *ecdsa.PrivateKey:
			algs = sigAlgs["ecdsa"]
		case *rsa.PrivateKey:
			algs = sigAlgs["rsa"]
		default:
			algs = sigAlgs["ed25519"]
		}
		tmpl := &x509.CertificateRequest{
			SignatureAlgorithm: algs[rng.IntN(len(algs))],
			Subject: pkix.Name{
				Country: pick([]string{"DE", "CN", "FR"}), Organization: pick(strs), OrganizationalUnit: pick(strs),
				Locality: pick(strs), Province: pick(strs), StreetAddress: pick(strs), PostalCode: pick([]string{"75001", "N1 9GU"}),
			},
			DNSNames:       pick([]string{"a.example.com", "*.svc", "localhost", "node-1", "UPPER.case"}),
			EmailAddresses: pick([]string{"a@b.c", "ops@example.com"}),
		}
		if rng.IntN(5) != 0 {
			tmpl.Subject.CommonName = strs[rng.IntN(len(strs))]
		}
		if rng.IntN(4) == 0 {
			tmpl.Subject.SerialNumber = "1234"
		}
		if rng.IntN(4) == 0 {
			tmpl.Subject.ExtraNames = append(tmpl.Subject.ExtraNames,
				pkix.AttributeTypeAndValue{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "ops@example.com"},
				pkix.AttributeTypeAndValue{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: "example"})
		}
		for _, ip := range pick([]string{"127.0.0.1", "::1", "10.0.0.7", "2001:db8::5"}) {
			addr := net.ParseIP(ip)
			if v4 := addr.To4(); v4 != nil && rng.IntN(2) == 0 {
				addr = v4
			}
			tmpl.IPAddresses = append(tmpl.IPAddresses, addr)
		}
		uris := pick([]string{"spiffe://cluster.local/ns/a/sa/b", "https://example.com/x?y=z", "urn:uuid:f81d4fae-7dec-11d0", "mailto:a@b.c"})
		if rng.IntN(10) == 0 { // hosts left to crypto/x509
			uris = append(uris, pick([]string{"https://h.example:8443/p", "https://[::1]/", "https://a..b/"})...)
		}
		for _, u := range uris {
			pu, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			tmpl.URIs = append(tmpl.URIs, pu)
		}
		for k := rng.IntN(3); k > 0; k-- {
			value := make([]byte, rng.IntN(6))
			for j := range value {
				value[j] = byte(rng.IntN(256))
			}
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{
				Id: extOIDs[rng.IntN(len(extOIDs))], Critical: rng.IntN(2) == 0, Value: value,
			})
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
		if err != nil {
			t.Fatalf("template %d: %v", i, err)
		}
		out = append(out, der)
	}
	return out
}

// TestParseCSRMatchesStdlib compares the parser with crypto/x509 over
// random requests; most must take the fast path, or the comparison would
// prove nothing.
func TestParseCSRMatchesStdlib(t *testing.T) {
	const n = 600
	handled := 0
	for _, der := range randomCSRs(t, n, 6) {
		if compareCSRParsers(t, der) {
			handled++
		}
	}
	// Left to crypto/x509: P-224 keys, RSA-PSS, duplicate extensions, URI
	// SANs with a port or an IP literal.
	if handled < n/2 {
		t.Errorf("only %d of %d requests took the fast path", handled, n)
	}
	t.Logf("%d of %d requests parsed by hand", handled, n)
}

// TestParseCSRShapes pins which shapes the parser handles and which it
// leaves to crypto/x509, so that a change in coverage is seen.
func TestParseCSRShapes(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	spiffe, _ := url.Parse("spiffe://cluster.local/ns/default/sa/x")
	withPort, _ := url.Parse("https://h.example:8443/")
	var manyExts []pkix.Extension
	for i := range maxCSRExtensions + 1 {
		manyExts = append(manyExts, pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, i}, Value: []byte{1}})
	}
	for _, tc := range []struct {
		name    string
		key     crypto.Signer
		tmpl    x509.CertificateRequest
		handled bool
	}{
		{"P-256 server", p256, x509.CertificateRequest{Subject: pkix.Name{CommonName: "web", Organization: []string{"a", "b"}},
			DNSNames: []string{"web.example.com"}, IPAddresses: []net.IP{net.IPv4(10, 0, 0, 1)}}, true},
		{"kubelet client, no SANs", p256, x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}}, true},
		{"empty subject", p256, x509.CertificateRequest{DNSNames: []string{"x"}}, true},
		{"RSA SHA-256", rsaKey, x509.CertificateRequest{Subject: pkix.Name{CommonName: "r"}}, true},
		{"Ed25519 with URI and email", edKey, x509.CertificateRequest{Subject: pkix.Name{CommonName: "e"}, URIs: []*url.URL{spiffe},
			EmailAddresses: []string{"a@example.com"}}, true},
		{"critical extension", p256, x509.CertificateRequest{Subject: pkix.Name{CommonName: "c"},
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: []byte{0x30, 0}}}}, true},
		{"P-224 key", p224, x509.CertificateRequest{Subject: pkix.Name{CommonName: "p"}}, false},
		{"RSA-PSS", rsaKey, x509.CertificateRequest{Subject: pkix.Name{CommonName: "p"}, SignatureAlgorithm: x509.SHA256WithRSAPSS}, false},
		{"URI with a port", p256, x509.CertificateRequest{URIs: []*url.URL{withPort}}, false},
		{"duplicate extension", p256, x509.CertificateRequest{ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{1}}, {Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{2}}}}, false},
		{"many extensions", p256, x509.CertificateRequest{ExtraExtensions: manyExts}, false},
		{"other attribute", p256, x509.CertificateRequest{Subject: pkix.Name{CommonName: "a"}, Attributes: []pkix.AttributeTypeAndValueSET{{
			Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}, Value: [][]pkix.AttributeTypeAndValue{{{Type: asn1.ObjectIdentifier{1, 2}, Value: "x"}}}}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			der, err := x509.CreateCertificateRequest(rand.Reader, &tc.tmpl, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if got := compareCSRParsers(t, der); got != tc.handled {
				t.Errorf("handled = %v, want %v", got, tc.handled)
			}
		})
	}
}

// TestParseCSROpenSSL compares the two parsers on requests openssl makes
// with several configurations (its string types differ from Go's: UTF8String
// by default, IA5String for emailAddress, multi-valued RDNs).
func TestParseCSROpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	dir := t.TempDir()
	cnf := filepath.Join(dir, "req.cnf")
	if err := os.WriteFile(cnf, []byte(`[req]
distinguished_name = dn
attributes = attrs
prompt = no
[dn]
CN = with-attributes
[attrs]
challengePassword = secret123
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		handled bool
	}{
		{"P-256 server", []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-subj", "/C=FR/ST=IdF/L=Paris/O=kastle/OU=ops/CN=web",
			"-addext", "subjectAltName=DNS:web.example.com,IP:10.0.0.1,IP:::1,URI:spiffe://td/x,email:a@example.com"}, true},
		{"P-384 with key usage", []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-subj", "/CN=k/O=system:nodes",
			"-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=clientAuth", "-addext", "basicConstraints=CA:FALSE"}, true},
		{"RSA 2048 SHA-384", []string{"-newkey", "rsa:2048", "-sha384", "-subj", "/CN=r/emailAddress=ops@example.com"}, true},
		{"Ed25519", []string{"-newkey", "ed25519", "-subj", "/CN=e/DC=example/DC=com"}, true},
		{"multi-valued RDN, UTF-8", []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-utf8", "-multivalue-rdn",
			"-subj", "/O=北京+OU=a/CN=é"}, true},
		{"challengePassword attribute", []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-config", cnf}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".csr")
			args := append([]string{"req", "-new", "-nodes", "-keyout", out + ".key", "-out", out, "-outform", "DER"}, tc.args...)
			if b, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %v: %v\n%s", args, err, b)
			}
			der, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := compareCSRParsers(t, der); got != tc.handled {
				t.Errorf("handled = %v, want %v", got, tc.handled)
			}
			// The service receives PEM and checks the signature.
			csr, err := ParseCSRPEM(pem.EncodeToMemory(&pem.Block{Type: PEMTypeCSR, Bytes: der}))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(csr.Raw, der) {
				t.Error("ParseCSRPEM returned another request")
			}
		})
	}
}

// TestParseCSRMutations compares the parsers on damaged requests:
// every truncation, a flipped bit at every byte, every byte one higher
// and one lower (lengths and tags included), a byte inserted or removed
// at every position, and trailing data.
func TestParseCSRMutations(t *testing.T) {
	mutants := 0
	for _, der := range randomCSRs(t, 12, 7) {
		try := func(m []byte) {
			compareCSRParsers(t, m)
			mutants++
		}
		for i := 0; i < len(der); i++ {
			try(der[:i])
			for _, f := range []func(byte) byte{
				func(b byte) byte { return b ^ 1<<(i%8) },
				func(b byte) byte { return b + 1 },
				func(b byte) byte { return b - 1 },
			} {
				m := bytes.Clone(der)
				m[i] = f(m[i])
				try(m)
			}
			try(append(bytes.Clone(der[:i]), der[i+1:]...))
			try(append(append(bytes.Clone(der[:i]), 0), der[i:]...))
		}
		try(append(bytes.Clone(der), 0))
	}
	t.Logf("%d mutants compared", mutants)
}

// FuzzParseCSR compares the parsers on arbitrary input. Plain `go test`
// runs the seeds; `go test -fuzz FuzzParseCSR ./internal/pki` explores.
func FuzzParseCSR(f *testing.F) {
	for _, der := range randomCSRs(f, 16, 8) {
		f.Add(der)
	}
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		compareCSRParsers(t, der)
	})
}

// TestParseOID checks the OID decoder against encoding/asn1 on the edges
// of its limits.
func TestParseOID(t *testing.T) {
	for _, der := range [][]byte{
		{0x2a, 0x03}, {0x00}, {0x4f}, {0x50}, {0x7f}, {0x81, 0x00}, {0x80, 0x01}, {0x2a, 0x80, 0x01},
		{0x2a, 0x87, 0xff, 0xff, 0xff, 0x7f}, {0x2a, 0x88, 0x80, 0x80, 0x80, 0x00}, {0x2a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00},
		{0x2a, 0x81}, {0x8f, 0xff, 0xff, 0xff, 0x7f}, {0x87, 0xff, 0xff, 0xff, 0x7f}, {},
	} {
		full, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagOID, Bytes: der})
		var want asn1.ObjectIdentifier
		_, err := asn1.Unmarshal(full, &want)
		got, ok := parseOID(der)
		if ok != (err == nil) || ok && !reflect.DeepEqual(got, want) {
			t.Errorf("%x: parseOID = %v, %v; encoding/asn1 %v, %v", der, got, ok, want, err)
		}
	}
}

// BenchmarkParseCSR compares the parser with crypto/x509 on the request
// the CA service's benchmark sends (P-256, a CN and one DNS SAN) and on a
// larger one (RSA, a full subject, four kinds of SAN, a critical
// extension).
func BenchmarkParseCSR(b *testing.B) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	spiffe, _ := url.Parse("spiffe://cluster.local/ns/default/sa/web")
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		tmpl x509.CertificateRequest
	}{
		{"service", p256, x509.CertificateRequest{Subject: pkix.Name{CommonName: "bench-1"}, DNSNames: []string{"bench-1.example.com"}}},
		{"full", rsaKey, x509.CertificateRequest{
			Subject: pkix.Name{Country: []string{"FR"}, Province: []string{"IdF"}, Locality: []string{"Paris"},
				Organization: []string{"kastle", "system:masters"}, OrganizationalUnit: []string{"ops"}, CommonName: "web"},
			DNSNames: []string{"web", "web.example.com"}, IPAddresses: []net.IP{net.IPv4(10, 0, 0, 1), net.IPv6loopback},
			URIs: []*url.URL{spiffe}, EmailAddresses: []string{"ops@example.com"},
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: []byte{0x30, 0}}},
		}},
	} {
		der, err := x509.CreateCertificateRequest(rand.Reader, &tc.tmpl, tc.key)
		if err != nil {
			b.Fatal(err)
		}
		if !compareCSRParsers(b, der) {
			b.Fatal("not handled by the parser")
		}
		b.Run(tc.name+"/hand", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := parseCSR(der); !ok {
					b.Fatal("not handled")
				}
			}
		})
		b.Run(tc.name+"/x509", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := x509.ParseCertificateRequest(der); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestValidStringMatchesASN1 checks, for every byte value in every string
// type, that validString accepts exactly what encoding/asn1 decodes into a
// string (the parser falls back on the string types it does not cover).
func TestValidStringMatchesASN1(t *testing.T) {
	tags := []int{asn1.TagPrintableString, asn1.TagUTF8String, asn1.TagIA5String}
	values := [][]byte{{}, {0xc3, 0xa9}, {0xe5, 0x8c, 0x97}, {0xc3}, {0xed, 0xa0, 0x80}, {0xf4, 0x90, 0x80, 0x80}}
	for b := range 256 {
		values = append(values, []byte{'a', byte(b)})
	}
	for _, tag := range tags {
		for _, v := range values {
			full, err := asn1.Marshal(asn1.RawValue{Tag: tag, Bytes: v})
			if err != nil {
				t.Fatal(err)
			}
			var got any
			_, err = asn1.Unmarshal(full, &got)
			_, isString := got.(string)
			if want := err == nil && isString; validString(cbasn1.Tag(tag), string(v)) != want {
				t.Errorf("tag %d, %x: validString = %v, encoding/asn1 decodes a string: %v", tag, v, !want, want)
			}
		}
	}
}

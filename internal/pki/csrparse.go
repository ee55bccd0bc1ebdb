package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math"
	"math/big"
	"net"
	"net/url"
	"slices"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The PKCS #10 parser below returns, for the requests it covers, exactly
// what x509.ParseCertificateRequest returns (tests compare the two with
// reflect.DeepEqual over random, openssl-made, mutated and fuzzed input).
// crypto/x509 unmarshals the request through reflection-based
// encoding/asn1, about 20 µs of a CA service's CPU per certificate
// (docs/performance.md). The parser is deliberately narrower than
// crypto/x509: any shape it does not cover or any irregularity (even one
// crypto/x509 tolerates) makes it give up, and crypto/x509 parses the
// request instead and reports the errors. So it never accepts a request
// crypto/x509 rejects, and differs from it only in speed.

// DER contents of the object identifiers the parser recognises by their
// encoding (an exact match implies crypto/x509 decodes the same OID).
var (
	derOIDPublicKeyRSA   = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01}
	derOIDPublicKeyECDSA = []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01}
	derOIDEd25519        = []byte{0x2b, 0x65, 0x70}
	derOIDExtRequest     = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e}
	derOIDExtSAN         = []byte{0x55, 0x1d, 0x11}

	// The namedCurve parameters (the whole OID element) crypto/x509 accepts.
	derParamsP256 = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}
	derParamsP384 = []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}
	derParamsP521 = []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23}
	derNull       = []byte{0x05, 0x00}

	// oidExtensionRequest is PKCS #9's extensionRequest attribute.
	oidExtensionRequest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 14}
)

// maxCSRExtensions bounds the extensions the parser reads in one request.
const maxCSRExtensions = 32

// csrSignatureAlgorithms maps the DER contents of a signature algorithm
// OID to crypto/x509's value, with whether the parameters are an explicit
// NULL (RSA PKCS #1 v1.5) or absent (ECDSA, Ed25519). RSA-PSS, SHA-1 and
// anything else are left to crypto/x509.
var csrSignatureAlgorithms = []struct {
	oid  []byte
	alg  x509.SignatureAlgorithm
	null bool
}{
	{[]byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}, x509.ECDSAWithSHA256, false},
	{[]byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03}, x509.ECDSAWithSHA384, false},
	{[]byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04}, x509.ECDSAWithSHA512, false},
	{derOIDEd25519, x509.PureEd25519, false},
	{[]byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}, x509.SHA256WithRSA, true},
	{[]byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c}, x509.SHA384WithRSA, true},
	{[]byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d}, x509.SHA512WithRSA, true},
}

// ParseCSRDER parses a DER PKCS #10 request as x509.ParseCertificateRequest
// does, with the same result and errors, faster for the requests kastle's
// clients send. The signature is not checked. Like crypto/x509's Raw
// fields, the result may share der's memory.
func ParseCSRDER(der []byte) (*x509.CertificateRequest, error) {
	if csr, ok := parseCSR(der); ok {
		return csr, nil
	}
	return x509.ParseCertificateRequest(der)
}

// parseCSR is the hand-written parser; ok false means "not handled", not
// necessarily invalid. Work is linear in len(der).
func parseCSR(der []byte) (csr *x509.CertificateRequest, ok bool) {
	// CertificationRequest ::= SEQUENCE { certificationRequestInfo,
	//   signatureAlgorithm AlgorithmIdentifier, signature BIT STRING }
	in := cryptobyte.String(der)
	var body, tbs, sigAlg, sig cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() ||
		!body.ReadASN1Element(&tbs, cbasn1.SEQUENCE) ||
		!body.ReadASN1(&sigAlg, cbasn1.SEQUENCE) ||
		!body.ReadASN1(&sig, cbasn1.BIT_STRING) || !body.Empty() {
		return nil, false
	}
	out := &x509.CertificateRequest{Raw: der, RawTBSCertificateRequest: tbs}
	if out.SignatureAlgorithm, ok = csrSignatureAlgorithm(sigAlg); !ok {
		return nil, false
	}
	// Only whole bytes: what crypto/x509's RightAlign returns unchanged.
	if len(sig) == 0 || sig[0] != 0 {
		return nil, false
	}
	out.Signature = sig[1:]

	// CertificationRequestInfo ::= SEQUENCE { version INTEGER (v1 = 0),
	//   subject Name, subjectPKInfo, attributes [0] IMPLICIT SET OF Attribute }
	var version, subject, spki, attrs cryptobyte.String
	if !tbs.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&version, cbasn1.INTEGER) || !bytes.Equal(version, []byte{0}) ||
		!tbs.ReadASN1Element(&subject, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&spki, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) || !tbs.Empty() {
		return nil, false
	}
	out.RawSubject, out.RawSubjectPublicKeyInfo = subject, spki
	if !parseCSRPublicKey(spki, out) || !parseCSRName(subject, &out.Subject) || !parseCSRAttributes(attrs, out) {
		return nil, false
	}
	return out, true
}

// csrSignatureAlgorithm reads an AlgorithmIdentifier's contents.
func csrSignatureAlgorithm(ai cryptobyte.String) (x509.SignatureAlgorithm, bool) {
	var oid cryptobyte.String
	if !ai.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) {
		return 0, false
	}
	for _, s := range csrSignatureAlgorithms {
		if bytes.Equal(oid, s.oid) {
			if s.null && bytes.Equal(ai, derNull) || !s.null && ai.Empty() {
				return s.alg, true
			}
			return 0, false
		}
	}
	return 0, false
}

// parseCSRPublicKey reads a SubjectPublicKeyInfo element into out's
// PublicKeyAlgorithm and PublicKey: RSA, ECDSA on P-256/384/521, Ed25519.
func parseCSRPublicKey(spki cryptobyte.String, out *x509.CertificateRequest) bool {
	var alg, oid, bits cryptobyte.String
	if !spki.ReadASN1(&spki, cbasn1.SEQUENCE) ||
		!spki.ReadASN1(&alg, cbasn1.SEQUENCE) || !spki.ReadASN1(&bits, cbasn1.BIT_STRING) || !spki.Empty() ||
		!alg.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) ||
		len(bits) == 0 || bits[0] != 0 {
		return false
	}
	data := bits[1:]
	params := []byte(alg)
	switch {
	case bytes.Equal(oid, derOIDPublicKeyECDSA):
		var curve elliptic.Curve
		switch {
		case bytes.Equal(params, derParamsP256):
			curve = elliptic.P256()
		case bytes.Equal(params, derParamsP384):
			curve = elliptic.P384()
		case bytes.Equal(params, derParamsP521):
			curve = elliptic.P521()
		default:
			return false
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, data)
		if err != nil {
			return false
		}
		out.PublicKeyAlgorithm, out.PublicKey = x509.ECDSA, pub
	case bytes.Equal(oid, derOIDEd25519):
		if len(params) != 0 || len(data) != ed25519.PublicKeySize {
			return false
		}
		out.PublicKeyAlgorithm, out.PublicKey = x509.Ed25519, ed25519.PublicKey(data)
	case bytes.Equal(oid, derOIDPublicKeyRSA):
		// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
		der := cryptobyte.String(data)
		var seq cryptobyte.String
		n, e := new(big.Int), 0
		if !bytes.Equal(params, derNull) ||
			!der.ReadASN1(&seq, cbasn1.SEQUENCE) || !der.Empty() ||
			!seq.ReadASN1Integer(n) || !seq.ReadASN1Integer(&e) || !seq.Empty() ||
			n.Sign() <= 0 || e <= 0 {
			return false
		}
		out.PublicKeyAlgorithm, out.PublicKey = x509.RSA, &rsa.PublicKey{N: n, E: e}
	default:
		return false
	}
	return true
}

// parseCSRName reads a Name element (an RDNSequence) into n the way
// pkix.Name.FillFromRDNSequence fills it. Attribute values must be
// PrintableString, UTF8String or IA5String.
func parseCSRName(der cryptobyte.String, n *pkix.Name) bool {
	if !der.ReadASN1(&der, cbasn1.SEQUENCE) {
		return false
	}
	for !der.Empty() {
		var rdn cryptobyte.String
		// An empty RDN is skipped by crypto/x509; it is rare enough to leave to it.
		if !der.ReadASN1(&rdn, cbasn1.SET) || rdn.Empty() {
			return false
		}
		for !rdn.Empty() {
			var atv, oidDER, val cryptobyte.String
			var tag cbasn1.Tag
			if !rdn.ReadASN1(&atv, cbasn1.SEQUENCE) ||
				!atv.ReadASN1(&oidDER, cbasn1.OBJECT_IDENTIFIER) ||
				!atv.ReadAnyASN1(&val, &tag) || !atv.Empty() {
				return false
			}
			oid, ok := parseOID(oidDER)
			s := string(val)
			if !ok || !validString(tag, s) {
				return false
			}
			n.Names = append(n.Names, pkix.AttributeTypeAndValue{Type: oid, Value: s})
			if len(oid) != 4 || oid[0] != 2 || oid[1] != 5 || oid[2] != 4 {
				continue
			}
			switch oid[3] {
			case 3:
				n.CommonName = s
			case 5:
				n.SerialNumber = s
			case 6:
				n.Country = append(n.Country, s)
			case 7:
				n.Locality = append(n.Locality, s)
			case 8:
				n.Province = append(n.Province, s)
			case 9:
				n.StreetAddress = append(n.StreetAddress, s)
			case 10:
				n.Organization = append(n.Organization, s)
			case 11:
				n.OrganizationalUnit = append(n.OrganizationalUnit, s)
			case 17:
				n.PostalCode = append(n.PostalCode, s)
			}
		}
	}
	return true
}

// validString reports whether encoding/asn1 decodes val, of type tag, into
// a string: PrintableString (with the '*' and '&' it tolerates),
// UTF8String (valid UTF-8) or IA5String (ASCII).
func validString(tag cbasn1.Tag, s string) bool {
	switch tag {
	case cbasn1.PrintableString:
		for i := 0; i < len(s); i++ {
			b := s[i]
			if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
				'\'' <= b && b <= ')' || '+' <= b && b <= '/' ||
				b == ' ' || b == ':' || b == '=' || b == '?' || b == '*' || b == '&') {
				return false
			}
		}
		return true
	case cbasn1.UTF8String:
		return utf8.ValidString(s)
	case cbasn1.IA5String:
		return isASCII(s)
	}
	return false
}

// parseOID decodes an OBJECT IDENTIFIER's contents exactly as
// encoding/asn1 does, including its limits: minimal base-128 arcs of at
// most five bytes, each at most MaxInt32.
func parseOID(der []byte) (asn1.ObjectIdentifier, bool) {
	if len(der) == 0 {
		return nil, false
	}
	oid := make(asn1.ObjectIdentifier, 0, len(der)+1)
	for off := 0; off < len(der); {
		if der[off] == 0x80 {
			return nil, false
		}
		var v int64
		for shifted := 0; ; shifted++ {
			if shifted == 5 || off == len(der) {
				return nil, false
			}
			b := der[off]
			off++
			v = v<<7 | int64(b&0x7f)
			if b&0x80 == 0 {
				break
			}
		}
		if v > math.MaxInt32 {
			return nil, false
		}
		if len(oid) > 0 {
			oid = append(oid, int(v))
		} else if v < 80 {
			oid = append(oid, int(v/40), int(v%40))
		} else {
			oid = append(oid, 2, int(v-80))
		}
	}
	return oid, true
}

// parseCSRAttributes reads the attributes' contents: nothing, or one
// extensionRequest attribute with one value holding at least one
// extension. It fills Extensions, the deprecated Attributes (as
// encoding/asn1 reads an Extension into an AttributeTypeAndValue: its
// critical flag if present, else its value) and the SANs.
func parseCSRAttributes(attrs cryptobyte.String, out *x509.CertificateRequest) bool {
	if attrs.Empty() {
		return true
	}
	// Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET OF ANY }
	var attr, oid, values, exts cryptobyte.String
	if !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) || !attrs.Empty() ||
		!attr.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !bytes.Equal(oid, derOIDExtRequest) ||
		!attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() ||
		!values.ReadASN1(&exts, cbasn1.SEQUENCE) || !values.Empty() || exts.Empty() {
		return false
	}
	var atvs []pkix.AttributeTypeAndValue
	for !exts.Empty() {
		// Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
		var ext, idDER, value cryptobyte.String
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1(&idDER, cbasn1.OBJECT_IDENTIFIER) {
			return false
		}
		id, ok := parseOID(idDER)
		if !ok {
			return false
		}
		e := pkix.Extension{Id: id}
		var atvValue any
		if ext.PeekASN1Tag(cbasn1.BOOLEAN) {
			var b cryptobyte.String
			if !ext.ReadASN1(&b, cbasn1.BOOLEAN) || len(b) != 1 || b[0] != 0 && b[0] != 0xff {
				return false
			}
			e.Critical = b[0] == 0xff
			atvValue = e.Critical
		}
		if !ext.ReadASN1(&value, cbasn1.OCTET_STRING) || !ext.Empty() {
			return false
		}
		e.Value = value
		if atvValue == nil {
			atvValue = e.Value
		}
		// crypto/x509 rejects duplicates. The search is quadratic, so many
		// extensions (never seen from a real client) go to crypto/x509.
		if len(out.Extensions) >= maxCSRExtensions {
			return false
		}
		for _, prev := range out.Extensions {
			if prev.Id.Equal(id) {
				return false
			}
		}
		if bytes.Equal(idDER, derOIDExtSAN) && !parseCSRSANs(value, out) {
			return false
		}
		out.Extensions = append(out.Extensions, e)
		atvs = append(atvs, pkix.AttributeTypeAndValue{Type: slices.Clone(id), Value: atvValue})
	}
	out.Attributes = []pkix.AttributeTypeAndValueSET{{
		Type:  slices.Clone(oidExtensionRequest),
		Value: [][]pkix.AttributeTypeAndValue{atvs},
	}}
	return true
}

// parseCSRSANs reads a subjectAltName extension's value: DNS names, email
// addresses, URIs and IP addresses only.
func parseCSRSANs(der cryptobyte.String, out *x509.CertificateRequest) bool {
	var seq cryptobyte.String
	if !der.ReadASN1(&seq, cbasn1.SEQUENCE) || !der.Empty() {
		return false
	}
	for !seq.Empty() {
		var v cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&v, &tag) {
			return false
		}
		switch tag {
		case cbasn1.Tag(1).ContextSpecific(): // rfc822Name
			s := string(v)
			if !isASCII(s) {
				return false
			}
			out.EmailAddresses = append(out.EmailAddresses, s)
		case cbasn1.Tag(2).ContextSpecific(): // dNSName
			s := string(v)
			if !isASCII(s) {
				return false
			}
			out.DNSNames = append(out.DNSNames, s)
		case cbasn1.Tag(6).ContextSpecific(): // uniformResourceIdentifier
			s := string(v)
			if !isASCII(s) {
				return false
			}
			u, err := url.Parse(s)
			if err != nil || u.Host != "" && !plainHostname(u.Host) {
				return false
			}
			out.URIs = append(out.URIs, u)
		case cbasn1.Tag(7).ContextSpecific(): // iPAddress
			if len(v) != net.IPv4len && len(v) != net.IPv6len {
				return false
			}
			out.IPAddresses = append(out.IPAddresses, net.IP(v))
		default:
			return false
		}
	}
	return true
}

// plainHostname reports whether h is a host name of letters, digits and
// hyphens in non-empty labels of at most 63 bytes, 253 in all, with no
// trailing dot: a name crypto/x509 accepts as a URI's host under any of
// its rules so far. Ports, IP literals and the rest go to crypto/x509.
func plainHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
		default:
			return false
		}
		if label++; label > 63 {
			return false
		}
	}
	return label > 0
}

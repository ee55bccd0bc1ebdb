package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The TBSCertificate encoder below writes, for the templates template()
// builds, exactly the bytes x509.CreateCertificate writes (tests compare
// the two over every key type and extension set). crypto/x509 encodes
// through reflection-based encoding/asn1, which was a fifth of a CA
// service's CPU per certificate (docs/performance.md); a template it does
// not cover is left to crypto/x509.

// Object identifiers, RFC 5280, 5480, 8410 and 3279.
var (
	oidSigECDSASHA256  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidSigECDSASHA384  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidSigECDSASHA512  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidSigSHA256RSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSigEd25519      = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidExtKeyUsage     = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtExtKeyUsage  = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidExtBasicConstr  = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtSubjectKeyID = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtAuthKeyID    = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtAIA          = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidExtSAN          = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidExtCRLDP        = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidAIAOCSP         = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1}
	oidAIACAIssuers    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 2}

	oidAttrCountry  = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidAttrProvince = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidAttrLocality = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidAttrOrg      = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidAttrOrgUnit  = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidAttrCN       = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// extKeyUsageOIDs are the OIDs of crypto/x509's named extended key usages.
var extKeyUsageOIDs = map[x509.ExtKeyUsage]asn1.ObjectIdentifier{
	x509.ExtKeyUsageAny:                            {2, 5, 29, 37, 0},
	x509.ExtKeyUsageServerAuth:                     {1, 3, 6, 1, 5, 5, 7, 3, 1},
	x509.ExtKeyUsageClientAuth:                     {1, 3, 6, 1, 5, 5, 7, 3, 2},
	x509.ExtKeyUsageCodeSigning:                    {1, 3, 6, 1, 5, 5, 7, 3, 3},
	x509.ExtKeyUsageEmailProtection:                {1, 3, 6, 1, 5, 5, 7, 3, 4},
	x509.ExtKeyUsageIPSECEndSystem:                 {1, 3, 6, 1, 5, 5, 7, 3, 5},
	x509.ExtKeyUsageIPSECTunnel:                    {1, 3, 6, 1, 5, 5, 7, 3, 6},
	x509.ExtKeyUsageIPSECUser:                      {1, 3, 6, 1, 5, 5, 7, 3, 7},
	x509.ExtKeyUsageTimeStamping:                   {1, 3, 6, 1, 5, 5, 7, 3, 8},
	x509.ExtKeyUsageOCSPSigning:                    {1, 3, 6, 1, 5, 5, 7, 3, 9},
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     {1, 3, 6, 1, 4, 1, 311, 10, 3, 3},
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      {2, 16, 840, 1, 113730, 4, 1},
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: {1, 3, 6, 1, 4, 1, 311, 2, 1, 22},
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     {1, 3, 6, 1, 4, 1, 311, 61, 1, 1},
}

// signatureParams returns the signature AlgorithmIdentifier crypto/x509
// chooses by default for key, and the hash to sign with; ok is false for a
// key it does not cover.
func signatureParams(key crypto.Signer) (alg []byte, hash crypto.Hash, ok bool) {
	var oid asn1.ObjectIdentifier
	null := false
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			oid, hash = oidSigECDSASHA256, crypto.SHA256
		case elliptic.P384():
			oid, hash = oidSigECDSASHA384, crypto.SHA384
		case elliptic.P521():
			oid, hash = oidSigECDSASHA512, crypto.SHA512
		default:
			return nil, 0, false
		}
	case *rsa.PublicKey:
		oid, hash, null = oidSigSHA256RSA, crypto.SHA256, true
	case ed25519.PublicKey:
		oid = oidSigEd25519
	default:
		return nil, 0, false
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 16))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if null {
			b.AddASN1NULL()
		}
	})
	return b.BytesOrPanic(), hash, true
}

// encodeTBS returns the DER TBSCertificate of tmpl issued by parent for
// pub, its signature AlgorithmIdentifier and the hash to sign with. ok is
// false when tmpl uses a field or value this encoder leaves to crypto/x509
// (which then also reports any error).
func encodeTBS(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (tbs, alg []byte, hash crypto.Hash, ok bool) {
	if !tbsCovered(tmpl) || len(parent.RawSubject) == 0 {
		return nil, nil, 0, false
	}
	// crypto/x509 refuses a key that does not match the issuer.
	if kp, isEq := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !isEq ||
		parent.PublicKey != nil && !kp.Equal(parent.PublicKey) {
		return nil, nil, 0, false
	}
	alg, hash, ok = signatureParams(key)
	if !ok {
		return nil, nil, 0, false
	}
	spki, err := marshalSPKI(pub)
	if err != nil {
		return nil, nil, 0, false
	}
	subject, ok := encodeName(tmpl.Subject)
	if !ok {
		return nil, nil, 0, false
	}
	issuer := parent.RawSubject
	var aki []byte
	if !bytes.Equal(issuer, subject) && len(parent.SubjectKeyId) > 0 {
		aki = parent.SubjectKeyId
	}
	for _, s := range slices.Concat(tmpl.DNSNames, tmpl.EmailAddresses) {
		if !isASCII(s) {
			return nil, nil, 0, false
		}
	}
	uris := make([]string, len(tmpl.URIs))
	for i, u := range tmpl.URIs {
		if uris[i] = u.String(); !isASCII(uris[i]) {
			return nil, nil, 0, false
		}
	}
	nb, na := tmpl.NotBefore.UTC(), tmpl.NotAfter.UTC()
	if nb.Year() < 0 || nb.Year() > 9999 || na.Year() < 0 || na.Year() > 9999 {
		return nil, nil, 0, false
	}

	b := cryptobyte.NewBuilder(make([]byte, 0, 512+len(subject)+len(issuer)+len(spki)))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1Int64(2) // v3
		})
		b.AddASN1BigInt(tmpl.SerialNumber)
		b.AddBytes(alg)
		b.AddBytes(issuer)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addTime(b, nb)
			addTime(b, na)
		})
		b.AddBytes(subject)
		b.AddBytes(spki)
		b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addExtensions(b, tmpl, uris, aki, bytes.Equal(subject, emptyName))
			})
		})
	})
	tbs, err = b.Bytes()
	if err != nil {
		return nil, nil, 0, false
	}
	return tbs, alg, hash, true
}

// emptyName is the DER of an empty RDNSequence.
var emptyName = []byte{0x30, 0}

// tbsCovered reports whether tmpl uses only what encodeTBS writes: the
// fields template() sets, with values crypto/x509 would accept.
func tbsCovered(t *x509.Certificate) bool {
	n := t.Subject
	return t.SerialNumber != nil && t.SerialNumber.Sign() >= 0 && t.SignatureAlgorithm == 0 &&
		len(t.RawSubject) == 0 && len(n.ExtraNames) == 0 && len(n.StreetAddress) == 0 &&
		len(n.PostalCode) == 0 && n.SerialNumber == "" &&
		len(t.ExtraExtensions) == 0 && len(t.UnknownExtKeyUsage) == 0 && len(t.AuthorityKeyId) == 0 &&
		len(t.SubjectKeyId) > 0 && t.BasicConstraintsValid && t.MaxPathLen >= 0 &&
		(t.IsCA || t.MaxPathLen == 0 && !t.MaxPathLenZero) &&
		len(t.PolicyIdentifiers) == 0 && len(t.Policies) == 0 &&
		len(t.PermittedDNSDomains) == 0 && len(t.ExcludedDNSDomains) == 0 &&
		len(t.PermittedIPRanges) == 0 && len(t.ExcludedIPRanges) == 0 &&
		len(t.PermittedEmailAddresses) == 0 && len(t.ExcludedEmailAddresses) == 0 &&
		len(t.PermittedURIDomains) == 0 && len(t.ExcludedURIDomains) == 0 &&
		!slices.ContainsFunc(t.ExtKeyUsage, func(u x509.ExtKeyUsage) bool { return extKeyUsageOIDs[u] == nil })
}

// addExtensions writes the extensions in crypto/x509's order.
func addExtensions(b *cryptobyte.Builder, t *x509.Certificate, uris []string, aki []byte, subjectEmpty bool) {
	if t.KeyUsage != 0 {
		addExtension(b, oidExtKeyUsage, true, func(b *cryptobyte.Builder) {
			bits := []byte{reverseBits(byte(t.KeyUsage)), reverseBits(byte(t.KeyUsage >> 8))}
			if bits[1] == 0 {
				bits = bits[:1]
			}
			b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
				b.AddUint8(unusedBits(bits))
				b.AddBytes(bits)
			})
		})
	}
	if len(t.ExtKeyUsage) > 0 {
		addExtension(b, oidExtExtKeyUsage, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, u := range t.ExtKeyUsage {
					b.AddASN1ObjectIdentifier(extKeyUsageOIDs[u])
				}
			})
		})
	}
	addExtension(b, oidExtBasicConstr, true, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if t.IsCA {
				b.AddASN1Boolean(true)
			}
			// Zero without MaxPathLenZero means unlimited: no field.
			if t.MaxPathLen > 0 || t.MaxPathLenZero {
				b.AddASN1Int64(int64(t.MaxPathLen))
			}
		})
	})
	addExtension(b, oidExtSubjectKeyID, false, func(b *cryptobyte.Builder) {
		b.AddASN1OctetString(t.SubjectKeyId)
	})
	if len(aki) > 0 {
		addExtension(b, oidExtAuthKeyID, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(aki) })
			})
		})
	}
	if len(t.OCSPServer) > 0 || len(t.IssuingCertificateURL) > 0 {
		addExtension(b, oidExtAIA, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, list := range []struct {
					oid  asn1.ObjectIdentifier
					urls []string
				}{{oidAIAOCSP, t.OCSPServer}, {oidAIACAIssuers, t.IssuingCertificateURL}} {
					for _, u := range list.urls {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1ObjectIdentifier(list.oid)
							b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(u)) })
						})
					}
				}
			})
		})
	}
	if len(t.DNSNames) > 0 || len(t.EmailAddresses) > 0 || len(t.IPAddresses) > 0 || len(uris) > 0 {
		// RFC 5280 §4.2.1.6: critical when the subject is empty.
		addExtension(b, oidExtSAN, subjectEmpty, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addGeneralNames(b, 2, t.DNSNames)
				addGeneralNames(b, 1, t.EmailAddresses)
				for _, ip := range t.IPAddresses {
					if ip4 := ip.To4(); ip4 != nil {
						ip = ip4
					}
					b.AddASN1(cbasn1.Tag(7).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(ip) })
				}
				addGeneralNames(b, 6, uris)
			})
		})
	}
	if len(t.CRLDistributionPoints) > 0 {
		addExtension(b, oidExtCRLDP, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, u := range t.CRLDistributionPoints {
					// DistributionPoint { distributionPoint [0] { fullName [0] { URI } } }
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(u)) })
							})
						})
					})
				}
			})
		})
	}
}

// addExtension writes one Extension; critical is omitted when false (its
// DEFAULT).
func addExtension(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, critical bool, value cryptobyte.BuilderContinuation) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if critical {
			b.AddASN1Boolean(true)
		}
		b.AddASN1(cbasn1.OCTET_STRING, value)
	})
}

// addGeneralNames writes names as IA5String GeneralNames of the given
// context-specific tag.
func addGeneralNames(b *cryptobyte.Builder, tag uint8, names []string) {
	for _, n := range names {
		b.AddASN1(cbasn1.Tag(tag).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(n)) })
	}
}

// addTime writes t as encoding/asn1 does: UTCTime for 1950–2049, else
// GeneralizedTime; whole seconds, "Z".
func addTime(b *cryptobyte.Builder, t time.Time) {
	tag, year := cbasn1.UTCTime, t.Year()
	buf := make([]byte, 0, 15)
	if year >= 1950 && year < 2050 {
		buf = appendDigits(buf, year%100, 2)
	} else {
		tag = cbasn1.GeneralizedTime
		buf = appendDigits(buf, year, 4)
	}
	_, month, day := t.Date()
	hour, minute, sec := t.Clock()
	for _, v := range []int{int(month), day, hour, minute, sec} {
		buf = appendDigits(buf, v, 2)
	}
	buf = append(buf, 'Z')
	b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(buf) })
}

// appendDigits appends v in n decimal digits.
func appendDigits(dst []byte, v, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		d := v
		for j := 0; j < i; j++ {
			d /= 10
		}
		dst = append(dst, byte('0'+d%10))
	}
	return dst
}

// encodeName writes the RDNSequence pkix.Name.ToRDNSequence gives for the
// fields template() sets: each attribute type one RDN holding all its
// values, the values DER-sorted within the SET.
func encodeName(n pkix.Name) ([]byte, bool) {
	cn := []string(nil)
	if n.CommonName != "" {
		cn = []string{n.CommonName}
	}
	ok := true
	b := cryptobyte.NewBuilder(make([]byte, 0, 128))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, a := range []struct {
			oid    asn1.ObjectIdentifier
			values []string
		}{{oidAttrCountry, n.Country}, {oidAttrProvince, n.Province}, {oidAttrLocality, n.Locality},
			{oidAttrOrg, n.Organization}, {oidAttrOrgUnit, n.OrganizationalUnit}, {oidAttrCN, cn}} {
			if len(a.values) == 0 {
				continue
			}
			atvs := make([][]byte, len(a.values))
			for i, v := range a.values {
				tag := cbasn1.PrintableString
				if !isPrintableString(v) {
					if !utf8.ValidString(v) {
						ok = false
						return
					}
					tag = cbasn1.UTF8String
				}
				ab := cryptobyte.NewBuilder(nil)
				ab.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(a.oid)
					b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(v)) })
				})
				atvs[i] = ab.BytesOrPanic()
			}
			slices.SortFunc(atvs, bytes.Compare)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				for _, atv := range atvs {
					b.AddBytes(atv)
				}
			})
		}
	})
	der, err := b.Bytes()
	return der, ok && err == nil
}

// isPrintableString reports whether encoding/asn1 writes s as a
// PrintableString (no '*' or '&', which it accepts only when parsing).
func isPrintableString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			'\'' <= c && c <= ')' || '+' <= c && c <= '/' || c == ' ' || c == ':' || c == '=' || c == '?') {
			return false
		}
	}
	return true
}

// isASCII reports whether s fits an IA5String.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// reverseBits reverses the bit order of b (x509.KeyUsage bit 0 is the
// BIT STRING's first, most significant bit).
func reverseBits(b byte) byte {
	var r byte
	for i := 0; i < 8; i++ {
		r = r<<1 | b&1
		b >>= 1
	}
	return r
}

// unusedBits is the count of trailing zero bits after the last set bit of
// a BIT STRING's last octet (encoding/asn1 trims the bit length that way).
func unusedBits(bits []byte) byte {
	last := bits[len(bits)-1]
	if last == 0 {
		// Only possible for the one-octet form of a zero usage, never
		// written (KeyUsage 0 has no extension).
		return 0
	}
	var n byte
	for last&1 == 0 {
		n++
		last >>= 1
	}
	return n
}

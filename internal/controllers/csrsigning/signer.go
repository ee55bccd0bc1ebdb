package csrsigning

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"

	"github.com/kastle-dev/kastle/internal/pki"
)

// The built-in signers this controller signs for.
const (
	SignerAPIServerClient        = certificatesv1.KubeAPIServerClientSignerName
	SignerAPIServerClientKubelet = certificatesv1.KubeAPIServerClientKubeletSignerName
	SignerKubeletServing         = certificatesv1.KubeletServingSignerName
	SignerLegacyUnknown          = "kubernetes.io/legacy-unknown"
)

// Signers lists the signer names the controller handles.
func Signers() []string {
	return []string{SignerAPIServerClient, SignerAPIServerClientKubelet, SignerKubeletServing, SignerLegacyUnknown}
}

// DefaultDuration is --cluster-signing-duration's default: one year.
const DefaultDuration = 365 * 24 * time.Hour

// CAFiles names a signing CA's certificate and key files.
type CAFiles struct {
	CertFile, KeyFile string
}

// Config configures signing.
type Config struct {
	// Default is the CA of every signer without an override
	// (--cluster-signing-cert-file/--cluster-signing-key-file).
	Default CAFiles
	// PerSigner overrides the CA of single signers
	// (--cluster-signing-kubelet-serving-cert-file and the like).
	PerSigner map[string]CAFiles
	// Duration caps the lifetime of issued certificates
	// (--cluster-signing-duration); spec.expirationSeconds may shorten it.
	Duration time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// caSource loads a CA from files and reloads it when either file changes
// (a renewed CA is picked up without a restart).
type caSource struct {
	files CAFiles
	mu    sync.Mutex
	ca    *pki.CA
	stamp [2]time.Time
}

func (s *caSource) load() (*pki.CA, error) {
	ci, err := os.Stat(s.files.CertFile)
	if err != nil {
		return nil, fmt.Errorf("signing CA certificate: %w", err)
	}
	ki, err := os.Stat(s.files.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("signing CA key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stamp := [2]time.Time{ci.ModTime(), ki.ModTime()}
	if s.ca != nil && stamp == s.stamp {
		return s.ca, nil
	}
	certPEM, err := os.ReadFile(s.files.CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(s.files.KeyFile)
	if err != nil {
		return nil, err
	}
	certs, err := pki.ParseCertsPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.files.CertFile, err)
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.files.KeyFile, err)
	}
	if !certs[0].IsCA {
		return nil, fmt.Errorf("%s: not a CA certificate", s.files.CertFile)
	}
	if !publicKeysMatch(certs[0].PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s does not match the key in %s", s.files.CertFile, s.files.KeyFile)
	}
	s.ca, s.stamp = &pki.CA{Cert: certs[0], Key: key}, stamp
	return s.ca, nil
}

func publicKeysMatch(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// Signer issues certificates for approved CSRs of the built-in signers.
// Create it with NewSigner; it is safe for concurrent use.
type Signer struct {
	cas      map[string]*caSource
	duration time.Duration
	now      func() time.Time
}

// NewSigner checks cfg (the default CA must be given and load) and returns
// a Signer.
func NewSigner(cfg Config) (*Signer, error) {
	if cfg.Default.CertFile == "" || cfg.Default.KeyFile == "" {
		return nil, errors.New("csrsigning: the cluster signing certificate and key files are required")
	}
	if cfg.Duration <= 0 {
		cfg.Duration = DefaultDuration
	}
	s := &Signer{cas: map[string]*caSource{}, duration: cfg.Duration, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	for _, name := range Signers() {
		files := cfg.Default
		if o, ok := cfg.PerSigner[name]; ok {
			files = o
		}
		s.cas[name] = &caSource{files: files}
		if _, err := s.cas[name].load(); err != nil {
			return nil, fmt.Errorf("csrsigning: signer %s: %w", name, err)
		}
	}
	for name := range cfg.PerSigner {
		if _, ok := s.cas[name]; !ok {
			return nil, fmt.Errorf("csrsigning: unknown signer %q (known: %s)", name, strings.Join(Signers(), ", "))
		}
	}
	return s, nil
}

// Handles reports whether the signer name is one this Signer signs for.
func (s *Signer) Handles(signerName string) bool {
	_, ok := s.cas[signerName]
	return ok
}

// RuleError is a request the signer refuses by its rules (the CSR gets a
// Failed condition); other errors are retried.
type RuleError struct{ Msg string }

func (e *RuleError) Error() string { return e.Msg }

func ruleErr(format string, args ...interface{}) error {
	return &RuleError{Msg: fmt.Sprintf(format, args...)}
}

// Sign checks csr against its signer's rules and returns the PEM
// certificate: subject and SANs from the request, usages from
// spec.usages, lifetime the shorter of the signing duration and
// spec.expirationSeconds, never past the CA's own expiry.
func (s *Signer) Sign(csr *certificatesv1.CertificateSigningRequest) ([]byte, error) {
	cert, err := s.Issue(csr)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), nil
}

// Issue is Sign returning the parsed certificate (its Raw field is the
// DER), for callers that also need its fields: no second parse.
func (s *Signer) Issue(csr *certificatesv1.CertificateSigningRequest) (*x509.Certificate, error) {
	src, ok := s.cas[csr.Spec.SignerName]
	if !ok {
		return nil, ruleErr("signer %q is not handled here", csr.Spec.SignerName)
	}
	req, err := ParseRequest(csr.Spec.Request)
	if err != nil {
		return nil, ruleErr("%v", err)
	}
	if err := CheckSignerRules(csr.Spec.SignerName, req, csr.Spec.Usages); err != nil {
		return nil, err
	}
	keyUsage, extUsage, err := x509Usages(csr.Spec.Usages)
	if err != nil {
		return nil, ruleErr("%v", err)
	}
	if _, isRSA := req.PublicKey.(*rsa.PublicKey); !isRSA {
		// Key encipherment only applies to RSA keys; tools such as
		// kubectl's examples ask for it regardless.
		keyUsage &^= x509.KeyUsageKeyEncipherment
	}
	ca, err := src.load()
	if err != nil {
		return nil, err
	}
	d := s.duration
	if e := csr.Spec.ExpirationSeconds; e != nil && time.Duration(*e)*time.Second < d {
		d = time.Duration(*e) * time.Second
	}
	spec := pki.SpecFromCSR(req, pki.Profile{Usages: extUsage, Expiry: d})
	spec.KeyUsage = keyUsage
	if keyUsage == 0 {
		spec.KeyUsage = x509.KeyUsageDigitalSignature
	}
	if len(spec.Usages) == 0 {
		// legacy-unknown may ask for key usages only; the policy spec
		// requires an extended usage, so allow any.
		spec.Usages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	if err := spec.Validate(); err != nil {
		return nil, ruleErr("%v", err)
	}
	// The CA's Issue backdates NotBefore, draws a 128-bit serial and never
	// outlives the CA; the request's signature was checked above.
	issuer := *ca
	issuer.Now = s.now
	cert, err := issuer.Issue(spec, req.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return cert, nil
}

// ParseRequest decodes a PEM PKCS#10 request and checks its
// self-signature (the requester holds the key).
func ParseRequest(data []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("spec.request is not a PEM CERTIFICATE REQUEST")
	}
	req, err := pki.ParseCSRDER(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the certificate request: %w", err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the certificate request's signature does not verify: %w", err)
	}
	return req, nil
}

// Usage sets allowed per signer (Kubernetes' documented signer rules).
var (
	kubeletClientUsages  = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth}
	kubeletServingUsages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth}
	apiserverClientUsage = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth}
)

// CheckSignerRules applies a built-in signer's rules to a request:
//   - kube-apiserver-client: usages within digital signature, key
//     encipherment and client auth, client auth required;
//   - kube-apiserver-client-kubelet: the same usages, O exactly
//     system:nodes, CN system:node:<name>, no SANs of any kind;
//   - kubelet-serving: usages within digital signature, key encipherment
//     and server auth, server auth required, O exactly system:nodes, CN
//     system:node:<name>, at least one DNS or IP SAN and no email or URI
//     SANs;
//   - legacy-unknown: no rules.
//
// A violation is a *RuleError.
func CheckSignerRules(signer string, req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	within := func(allowed []certificatesv1.KeyUsage, required certificatesv1.KeyUsage) error {
		for _, u := range usages {
			if !slices.Contains(allowed, u) {
				return ruleErr("usage %q is not allowed for signer %s (allowed: %v)", u, signer, allowed)
			}
		}
		if !slices.Contains(usages, required) {
			return ruleErr("signer %s requires the usage %q", signer, required)
		}
		return nil
	}
	nodeSubject := func() error {
		if len(req.Subject.Organization) != 1 || req.Subject.Organization[0] != "system:nodes" {
			return ruleErr("signer %s requires the organization to be exactly [system:nodes], got %q", signer, req.Subject.Organization)
		}
		if !strings.HasPrefix(req.Subject.CommonName, "system:node:") || len(req.Subject.CommonName) == len("system:node:") {
			return ruleErr("signer %s requires the common name system:node:<name>, got %q", signer, req.Subject.CommonName)
		}
		return nil
	}
	switch signer {
	case SignerAPIServerClient:
		return within(apiserverClientUsage, certificatesv1.UsageClientAuth)
	case SignerAPIServerClientKubelet:
		if err := within(kubeletClientUsages, certificatesv1.UsageClientAuth); err != nil {
			return err
		}
		if err := nodeSubject(); err != nil {
			return err
		}
		if len(req.DNSNames)+len(req.IPAddresses)+len(req.EmailAddresses)+len(req.URIs) > 0 {
			return ruleErr("signer %s does not allow subject alternative names", signer)
		}
	case SignerKubeletServing:
		if err := within(kubeletServingUsages, certificatesv1.UsageServerAuth); err != nil {
			return err
		}
		if err := nodeSubject(); err != nil {
			return err
		}
		if len(req.DNSNames)+len(req.IPAddresses) == 0 {
			return ruleErr("signer %s requires at least one DNS or IP subject alternative name", signer)
		}
		if len(req.EmailAddresses)+len(req.URIs) > 0 {
			return ruleErr("signer %s does not allow email or URI subject alternative names", signer)
		}
	case SignerLegacyUnknown:
	default:
		return ruleErr("unknown signer %q", signer)
	}
	return nil
}

// x509Usages maps the API's key usages to x509's.
func x509Usages(usages []certificatesv1.KeyUsage) (x509.KeyUsage, []x509.ExtKeyUsage, error) {
	var ku x509.KeyUsage
	var ext []x509.ExtKeyUsage
	for _, u := range usages {
		if k, ok := keyUsages[u]; ok {
			ku |= k
			continue
		}
		if e, ok := extKeyUsages[u]; ok {
			ext = append(ext, e)
			continue
		}
		return 0, nil, fmt.Errorf("unknown usage %q", u)
	}
	return ku, ext, nil
}

var keyUsages = map[certificatesv1.KeyUsage]x509.KeyUsage{
	certificatesv1.UsageSigning:           x509.KeyUsageDigitalSignature,
	certificatesv1.UsageDigitalSignature:  x509.KeyUsageDigitalSignature,
	certificatesv1.UsageContentCommitment: x509.KeyUsageContentCommitment,
	certificatesv1.UsageKeyEncipherment:   x509.KeyUsageKeyEncipherment,
	certificatesv1.UsageKeyAgreement:      x509.KeyUsageKeyAgreement,
	certificatesv1.UsageDataEncipherment:  x509.KeyUsageDataEncipherment,
	certificatesv1.UsageCertSign:          x509.KeyUsageCertSign,
	certificatesv1.UsageCRLSign:           x509.KeyUsageCRLSign,
	certificatesv1.UsageEncipherOnly:      x509.KeyUsageEncipherOnly,
	certificatesv1.UsageDecipherOnly:      x509.KeyUsageDecipherOnly,
}

var extKeyUsages = map[certificatesv1.KeyUsage]x509.ExtKeyUsage{
	certificatesv1.UsageAny:             x509.ExtKeyUsageAny,
	certificatesv1.UsageServerAuth:      x509.ExtKeyUsageServerAuth,
	certificatesv1.UsageClientAuth:      x509.ExtKeyUsageClientAuth,
	certificatesv1.UsageCodeSigning:     x509.ExtKeyUsageCodeSigning,
	certificatesv1.UsageEmailProtection: x509.ExtKeyUsageEmailProtection,
	certificatesv1.UsageSMIME:           x509.ExtKeyUsageEmailProtection,
	certificatesv1.UsageIPsecEndSystem:  x509.ExtKeyUsageIPSECEndSystem,
	certificatesv1.UsageIPsecTunnel:     x509.ExtKeyUsageIPSECTunnel,
	certificatesv1.UsageIPsecUser:       x509.ExtKeyUsageIPSECUser,
	certificatesv1.UsageTimestamping:    x509.ExtKeyUsageTimeStamping,
	certificatesv1.UsageOCSPSigning:     x509.ExtKeyUsageOCSPSigning,
	certificatesv1.UsageMicrosoftSGC:    x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	certificatesv1.UsageNetscapeSGC:     x509.ExtKeyUsageNetscapeServerGatedCrypto,
}

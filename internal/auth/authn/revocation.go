package authn

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"
)

// RevocationChecker decides whether a verified client certificate chain
// has been revoked. CheckRevoked returns nil for a chain in good standing
// and an error naming the revoked certificate otherwise.
type RevocationChecker interface {
	CheckRevoked(chain []*x509.Certificate) error
}

// ErrRevoked is wrapped by the error CheckRevoked returns for a revoked
// certificate.
var ErrRevoked = errors.New("certificate has been revoked")

// DefaultRevocationReloadInterval is how often, at most, the revocation
// file is checked for changes (the issue asks for "within 5 s").
const DefaultRevocationReloadInterval = time.Second

// RevocationConfig configures a RevocationList
// (--client-cert-revocation-file).
type RevocationConfig struct {
	// Path is the file: PEM "X509 CRL" blocks, or a text file of hex
	// serial numbers. Required.
	Path string
	// ClientCAs are the client CA certificates; every CRL in the file must
	// be signed by one of them. Required when the file holds CRLs.
	ClientCAs []*x509.Certificate
	// Now is the clock for reload checks and CRL freshness. Required.
	Now func() time.Time
	// Log receives reload failures and stale-CRL warnings. Required.
	Log *slog.Logger
	// ReloadInterval is the least time between two stats of the file;
	// zero means DefaultRevocationReloadInterval.
	ReloadInterval time.Duration
}

// revokedSet is one parsed revocation file.
type revokedSet struct {
	// anyIssuer holds serials from a serial-list file (hex, lower case):
	// a certificate with that serial is revoked whoever issued it.
	anyIssuer map[string]struct{}
	// byIssuer holds CRL entries keyed by issuer DER subject + "/" + hex
	// serial: a CRL revokes only certificates of its own issuer.
	byIssuer map[string]struct{}
}

// RevocationList revokes client certificates, something Kubernetes cannot
// do (kubernetes/kubernetes#18982). Its file is either
//
//   - one or more PEM X.509 CRLs, each of which must be signed by one of
//     the client CAs (a CRL that does not verify is rejected loudly and
//     the file is not used); an entry revokes the certificate with that
//     serial issued by the CRL's issuer; or
//   - a text file of serial numbers in hex, one per line, case and colons
//     ignored, optional "0x", "#" starting a comment; a listed serial is
//     revoked for every issuer.
//
// The file is re-read when it changes (checked at most once per
// ReloadInterval on use, so a change applies within a few seconds without
// a restart). A change that fails to parse or verify keeps the previous
// list and is logged at error level.
type RevocationList struct {
	file *reloadingFile[*revokedSet]
}

var _ RevocationChecker = (*RevocationList)(nil)

// NewRevocationList loads cfg.Path. It fails if the file cannot be read,
// does not parse, holds a CRL not signed by a client CA, or a dependency
// is missing.
func NewRevocationList(cfg RevocationConfig) (*RevocationList, error) {
	if cfg.Now == nil {
		return nil, errNilDependency("client certificate revocation file", "clock")
	}
	if cfg.Log == nil {
		return nil, errNilDependency("client certificate revocation file", "logger")
	}
	cas := append([]*x509.Certificate(nil), cfg.ClientCAs...)
	now, log := cfg.Now, cfg.Log
	parse := func(data []byte) (*revokedSet, error) { return parseRevocationFile(data, cas, now(), log) }
	interval := cfg.ReloadInterval
	if interval <= 0 {
		interval = DefaultRevocationReloadInterval
	}
	f, err := newReloadingFile(cfg.Path, "client certificate revocation file", parse, cfg.Now, interval, cfg.Log)
	if err != nil {
		return nil, err
	}
	return &RevocationList{file: f}, nil
}

// CheckRevoked reports whether any certificate of chain except a
// self-signed root has been revoked.
func (l *RevocationList) CheckRevoked(chain []*x509.Certificate) error {
	set := l.file.get()
	for i, c := range chain {
		if i > 0 && i == len(chain)-1 && bytes.Equal(c.RawIssuer, c.RawSubject) {
			break // the trust anchor itself
		}
		serial := c.SerialNumber.Text(16)
		_, any := set.anyIssuer[serial]
		_, crl := set.byIssuer[string(c.RawIssuer)+"/"+serial]
		if any || crl {
			return fmt.Errorf("%w: %q (serial %s, issuer %q)", ErrRevoked, c.Subject.CommonName, formatSerial(c.SerialNumber), c.Issuer.CommonName)
		}
	}
	return nil
}

// formatSerial renders a serial as openssl does (upper-case hex with
// colons), so an operator can grep for it.
func formatSerial(n *big.Int) string {
	h := strings.ToUpper(n.Text(16))
	if len(h)%2 == 1 {
		h = "0" + h
	}
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// parseRevocationFile reads either form of revocation file.
func parseRevocationFile(data []byte, cas []*x509.Certificate, now time.Time, log *slog.Logger) (*revokedSet, error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return parseCRLs(data, cas, now, log)
	}
	return parseSerialList(data)
}

// parseCRLs verifies and indexes every "X509 CRL" block.
func parseCRLs(data []byte, cas []*x509.Certificate, now time.Time, log *slog.Logger) (*revokedSet, error) {
	set := &revokedSet{byIssuer: map[string]struct{}{}}
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "X509 CRL" {
			return nil, fmt.Errorf("PEM block %d is %q, want \"X509 CRL\"", n+1, block.Type)
		}
		n++
		crl, err := x509.ParseRevocationList(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CRL %d: %w", n, err)
		}
		if err := verifyCRL(crl, cas); err != nil {
			return nil, fmt.Errorf("CRL %d: %w", n, err)
		}
		if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			// Revocations stay in force: a stale CRL still revokes.
			log.Warn("client certificate CRL is past its next update; still applying it",
				"issuer", crl.Issuer.String(), "nextUpdate", crl.NextUpdate)
		}
		for _, e := range crl.RevokedCertificateEntries {
			set.byIssuer[string(crl.RawIssuer)+"/"+e.SerialNumber.Text(16)] = struct{}{}
		}
	}
	if n == 0 {
		return nil, errors.New("no PEM \"X509 CRL\" block found")
	}
	return set, nil
}

// verifyCRL checks that one of cas issued crl.
func verifyCRL(crl *x509.RevocationList, cas []*x509.Certificate) error {
	if len(cas) == 0 {
		return errors.New("no client CA to verify the CRL against")
	}
	var errs []error
	for _, ca := range cas {
		if !bytes.Equal(ca.RawSubject, crl.RawIssuer) {
			continue
		}
		err := crl.CheckSignatureFrom(ca)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return fmt.Errorf("issuer %q is not a client CA", crl.Issuer.String())
	}
	return fmt.Errorf("signature of issuer %q does not verify against any client CA: %w", crl.Issuer.String(), errors.Join(errs...))
}

// parseSerialList reads hex serials, one per line.
func parseSerialList(data []byte) (*revokedSet, error) {
	set := &revokedSet{anyIssuer: map[string]struct{}{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		s, _, _ := strings.Cut(sc.Text(), "#")
		s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
		s = strings.TrimPrefix(s, "0x")
		if s == "" {
			continue
		}
		n, ok := new(big.Int).SetString(s, 16)
		if !ok || n.Sign() < 0 || strings.ContainsAny(s, "+-_") {
			return nil, fmt.Errorf("line %d: %q is not a hex serial number", line, sc.Text())
		}
		set.anyIssuer[n.Text(16)] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return set, nil
}

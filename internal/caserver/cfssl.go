package caserver

import (
	"fmt"

	"github.com/kastle-dev/kastle/internal/pki"
)

// CfsslOutput is what `cfssl initca` and `cfssl gencert` print, the input
// of `cfssljson -bare`.
type CfsslOutput struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
	CSR  string `json:"csr"`
}

// InitCA makes a self-signed CA from a cfssl csr.json: its key (of the
// requested algorithm), its CSR and its certificate.
func InitCA(csrJSON []byte) (*CfsslOutput, error) {
	req, err := pki.ParseCSRRequest(csrJSON)
	if err != nil {
		return nil, err
	}
	alg, _ := req.KeyAlgorithm()
	validity, err := req.CAExpiry()
	if err != nil {
		return nil, err
	}
	spec, err := req.Spec(pki.Profile{IsCA: true, Expiry: validity})
	if err != nil {
		return nil, err
	}
	if req.CA != nil && req.CA.PathLength > 0 {
		spec.MaxPathLen = req.CA.PathLength
	}
	key, err := pki.GenerateKey(alg)
	if err != nil {
		return nil, err
	}
	csrPEM, err := pki.CreateCSR(key, spec)
	if err != nil {
		return nil, err
	}
	cert, err := pki.SelfSign(key, spec)
	if err != nil {
		return nil, err
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	return &CfsslOutput{Cert: string(pki.EncodeCertPEM(cert)), Key: string(keyPEM), CSR: string(csrPEM)}, nil
}

// GenCert makes a key and a certificate from a cfssl csr.json, signed by
// ca under profile of the ca-config.json signing configuration. hosts, if
// not nil, replaces the request's hosts (cfssl's -hostname).
func GenCert(ca *pki.CA, cfg *pki.SigningConfig, profile string, csrJSON []byte, hosts []string) (*CfsslOutput, error) {
	req, err := pki.ParseCSRRequest(csrJSON)
	if err != nil {
		return nil, err
	}
	if hosts != nil {
		if _, err := pki.ParseHosts(hosts); err != nil {
			return nil, fmt.Errorf("-hostname: %w", err)
		}
		req.Hosts = hosts
	}
	p, err := cfg.Profile(profile)
	if err != nil {
		return nil, err
	}
	spec, err := req.Spec(p)
	if err != nil {
		return nil, err
	}
	alg, _ := req.KeyAlgorithm()
	key, err := pki.GenerateKey(alg)
	if err != nil {
		return nil, err
	}
	csrPEM, err := pki.CreateCSR(key, spec)
	if err != nil {
		return nil, err
	}
	csr, err := pki.ParseCSRPEM(csrPEM)
	if err != nil {
		return nil, err
	}
	cert, err := ca.IssueCSR(csr, spec)
	if err != nil {
		return nil, fmt.Errorf("gencert %q: %w", spec.CommonName, err)
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	return &CfsslOutput{Cert: string(pki.EncodeCertPEM(cert)), Key: string(keyPEM), CSR: string(csrPEM)}, nil
}

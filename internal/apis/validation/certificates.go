package validation

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// minExpirationSeconds is the shortest certificate lifetime a CSR may ask
// for (10 minutes), as in Kubernetes.
const minExpirationSeconds = 600

// certificateData stands in for PEM payloads in error values so that
// messages stay short.
const certificateData = "<certificate data>"

// validUsages are the key usages a v1 CSR may request.
func validUsages() []certificatesv1.KeyUsage {
	return []certificatesv1.KeyUsage{
		certificatesv1.UsageSigning, certificatesv1.UsageDigitalSignature, certificatesv1.UsageContentCommitment,
		certificatesv1.UsageKeyEncipherment, certificatesv1.UsageKeyAgreement, certificatesv1.UsageDataEncipherment,
		certificatesv1.UsageCertSign, certificatesv1.UsageCRLSign, certificatesv1.UsageEncipherOnly,
		certificatesv1.UsageDecipherOnly, certificatesv1.UsageAny, certificatesv1.UsageServerAuth,
		certificatesv1.UsageClientAuth, certificatesv1.UsageCodeSigning, certificatesv1.UsageEmailProtection,
		certificatesv1.UsageSMIME, certificatesv1.UsageIPsecEndSystem, certificatesv1.UsageIPsecTunnel,
		certificatesv1.UsageIPsecUser, certificatesv1.UsageTimestamping, certificatesv1.UsageOCSPSigning,
		certificatesv1.UsageMicrosoftSGC, certificatesv1.UsageNetscapeSGC,
	}
}

// parseCSRPEM decodes a single PEM CERTIFICATE REQUEST and verifies its
// self-signature, proving the requester holds the private key.
func parseCSRPEM(data []byte) error {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return err
	}
	return req.CheckSignature()
}

func validateCSR(csr *certificatesv1.CertificateSigningRequest) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if len(csr.Spec.Request) == 0 {
		errs = append(errs, field.Required(spec.Child("request"), ""))
	} else if err := parseCSRPEM(csr.Spec.Request); err != nil {
		errs = append(errs, field.Invalid(spec.Child("request"), field.OmitValueType{}, err.Error()))
	}
	if csr.Spec.SignerName == "" {
		errs = append(errs, field.Required(spec.Child("signerName"), ""))
	} else {
		errs = append(errs, validateSignerName(csr.Spec.SignerName, spec.Child("signerName"))...)
	}
	if len(csr.Spec.Usages) == 0 {
		errs = append(errs, field.Required(spec.Child("usages"), "usages must be provided"))
	}
	known := map[certificatesv1.KeyUsage]bool{}
	for _, u := range validUsages() {
		known[u] = true
	}
	seen := map[certificatesv1.KeyUsage]bool{}
	for i, u := range csr.Spec.Usages {
		up := spec.Child("usages").Index(i)
		if !known[u] {
			errs = append(errs, field.NotSupported(up, u, validUsages()))
		}
		if seen[u] {
			errs = append(errs, field.Duplicate(up, u))
		}
		seen[u] = true
	}
	if e := csr.Spec.ExpirationSeconds; e != nil && *e < minExpirationSeconds {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), *e, "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	return append(errs, validateCSRStatus(csr)...)
}

// validateSignerName requires "domain/path": a domain of at least two DNS
// labels and a non-empty path of DNS subdomain segments.
func validateSignerName(name string, p *field.Path) field.ErrorList {
	domain, rest, ok := strings.Cut(name, "/")
	if !ok || domain == "" || rest == "" {
		return field.ErrorList{field.Invalid(p, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs field.ErrorList
	if len(domain) > utilvalidation.DNS1123SubdomainMaxLength {
		errs = append(errs, field.TooLong(p, domain, utilvalidation.DNS1123SubdomainMaxLength))
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if msgs := utilvalidation.IsDNS1123Label(l); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p, domain, fmt.Sprintf("validating label %q: %s", l, msgs[0])))
			break
		}
	}
	if len(labels) < 2 {
		errs = append(errs, field.Invalid(p, domain, "should be a domain with at least two segments separated by dots"))
	}
	for _, seg := range strings.Split(rest, "/") {
		if msgs := utilvalidation.IsDNS1123Subdomain(strings.ToLower(seg)); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p, rest, fmt.Sprintf("validating component %q: %s", seg, msgs[0])))
			break
		}
	}
	return errs
}

// validateCSRStatus checks conditions and the issued certificate: Approved
// and Denied are exclusive, each known type appears once with status True
// (Failed may be anything), and status.certificate is a PEM chain.
func validateCSRStatus(csr *certificatesv1.CertificateSigningRequest) field.ErrorList {
	cp := field.NewPath("status", "conditions")
	var errs field.ErrorList
	seen := map[certificatesv1.RequestConditionType]bool{}
	for i, c := range csr.Status.Conditions {
		ip := cp.Index(i)
		if c.Type == "" {
			errs = append(errs, field.Required(ip.Child("type"), ""))
		}
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied:
			if c.Status != corev1.ConditionTrue {
				errs = append(errs, field.NotSupported(ip.Child("status"), c.Status, []corev1.ConditionStatus{corev1.ConditionTrue}))
			}
		default:
			switch c.Status {
			case corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown:
			case "":
				errs = append(errs, field.Required(ip.Child("status"), ""))
			default:
				errs = append(errs, field.NotSupported(ip.Child("status"), c.Status, []corev1.ConditionStatus{
					corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown}))
			}
		}
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			if seen[c.Type] {
				errs = append(errs, field.Duplicate(ip.Child("type"), c.Type))
			}
		}
		seen[c.Type] = true
	}
	if seen[certificatesv1.CertificateApproved] && seen[certificatesv1.CertificateDenied] {
		errs = append(errs, field.Invalid(cp, csr.Status.Conditions, "Approved and Denied conditions are mutually exclusive"))
	}
	if len(csr.Status.Certificate) > 0 {
		certPath := field.NewPath("status", "certificate")
		if !seen[certificatesv1.CertificateApproved] || seen[certificatesv1.CertificateDenied] {
			errs = append(errs, field.Invalid(certPath, certificateData, "certificate can only be set on an approved request"))
		}
		if err := validateCertificatePEM(csr.Status.Certificate); err != nil {
			errs = append(errs, field.Invalid(certPath, certificateData, err.Error()))
		}
	}
	return errs
}

// validateCertificatePEM requires one or more CERTIFICATE blocks, without
// headers or trailing garbage, each a parseable X.509 certificate.
func validateCertificatePEM(data []byte) error {
	n := 0
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", block.Type)
		}
		if len(block.Headers) != 0 {
			return errors.New("no PEM block headers are permitted")
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("failed to parse certificate: %w", err)
		}
		n++
	}
	if n == 0 {
		return errors.New("must contain at least one CERTIFICATE PEM block")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return errors.New("data after the last PEM block is not allowed")
	}
	return nil
}

// validateCSRUpdate makes the request immutable: what was approved must be
// what gets signed.
func validateCSRUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	return apivalidation.ValidateImmutableField(csr.Spec, old.Spec, field.NewPath("spec"))
}

// validateCSRStatusUpdate is used for the status and approval subresources:
// the status must be valid, decision conditions cannot be removed, and an
// issued certificate cannot be replaced.
func validateCSRStatusUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := validateCSRStatus(csr)
	errs = append(errs, validateCSRUpdate(csr, old)...)
	present := map[certificatesv1.RequestConditionType]bool{}
	for _, c := range csr.Status.Conditions {
		present[c.Type] = true
	}
	for _, c := range old.Status.Conditions {
		if !present[c.Type] {
			errs = append(errs, field.Forbidden(field.NewPath("status", "conditions"),
				fmt.Sprintf("updates may not remove a condition of type %q", c.Type)))
			present[c.Type] = true
		}
	}
	if len(old.Status.Certificate) > 0 && !apiequality.Semantic.DeepEqual(csr.Status.Certificate, old.Status.Certificate) {
		errs = append(errs, field.Invalid(field.NewPath("status", "certificate"), certificateData, "updates may not modify existing certificate content"))
	}
	return errs
}

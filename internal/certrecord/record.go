package certrecord

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The record's API coordinates.
const (
	Group    = "kastle.io"
	Version  = "v1alpha1"
	Resource = "issuedcertificates"
	Kind     = "IssuedCertificate"
	ListKind = "IssuedCertificateList"
)

// GVR is the record resource.
var GVR = schema.GroupVersionResource{Group: Group, Version: Version, Resource: Resource}

// Sources of records.
const (
	SourceCSR        = "csr"        // the CSR signing controller
	SourcePKI        = "pki"        // the control plane's own certificates
	SourceKubeconfig = "kubeconfig" // `kastle kubeconfig user`
)

// Record is one issued certificate.
type Record struct {
	// Serial is the serial number in lowercase hex; it names the object.
	Serial        string
	Subject       string
	CommonName    string
	Organizations []string
	DNSNames      []string
	IPAddresses   []string
	URIs          []string
	Emails        []string
	NotBefore     time.Time
	NotAfter      time.Time
	// IssuerKeyID is the issuing CA's subject key id (hex): serials are
	// unique per CA.
	IssuerKeyID string
	Issuer      string
	// Signer is the CSR signer name or the layout row (e.g. "apiserver").
	Signer string
	// Requester is who asked: the CSR's spec.username, or the command.
	Requester string
	// CSRName names the CertificateSigningRequest, if any.
	CSRName string
	Source  string
	// Revoked is set once the certificate is revoked.
	Revoked *Revocation
}

// Revocation says when and why a certificate was revoked, and by whom.
type Revocation struct {
	At     time.Time
	Reason string
	By     string
}

// Name is the object name of the record of serial: its lowercase hex.
func Name(serial *big.Int) string { return fmt.Sprintf("%x", serial) }

// FromCertificate fills a record's certificate fields from cert.
func FromCertificate(cert *x509.Certificate) Record {
	r := Record{
		Serial: Name(cert.SerialNumber), Subject: cert.Subject.String(), CommonName: cert.Subject.CommonName,
		Organizations: cert.Subject.Organization, DNSNames: cert.DNSNames, Emails: cert.EmailAddresses,
		NotBefore: cert.NotBefore.UTC(), NotAfter: cert.NotAfter.UTC(),
		IssuerKeyID: hex.EncodeToString(cert.AuthorityKeyId), Issuer: cert.Issuer.String(),
	}
	for _, ip := range cert.IPAddresses {
		r.IPAddresses = append(r.IPAddresses, ip.String())
	}
	for _, u := range cert.URIs {
		r.URIs = append(r.URIs, u.String())
	}
	return r
}

// Object returns the record as an IssuedCertificate object.
func (r Record) Object() *unstructured.Unstructured {
	spec := map[string]interface{}{
		"serial": r.Serial, "subject": r.Subject, "commonName": r.CommonName,
		"notBefore": r.NotBefore.UTC().Format(time.RFC3339), "notAfter": r.NotAfter.UTC().Format(time.RFC3339),
		"issuerKeyID": r.IssuerKeyID, "issuer": r.Issuer, "signer": r.Signer, "requester": r.Requester, "source": r.Source,
	}
	if r.CSRName != "" {
		spec["csrName"] = r.CSRName
	}
	for k, v := range map[string][]string{"organizations": r.Organizations, "dnsNames": r.DNSNames, "ipAddresses": r.IPAddresses, "uris": r.URIs, "emails": r.Emails} {
		if len(v) > 0 {
			spec[k] = toInterfaces(v)
		}
	}
	if r.Revoked != nil {
		spec["revocation"] = map[string]interface{}{"revokedAt": r.Revoked.At.UTC().Format(time.RFC3339), "reason": r.Revoked.Reason, "revokedBy": r.Revoked.By}
	}
	u := &unstructured.Unstructured{Object: map[string]interface{}{"spec": spec}}
	u.SetAPIVersion(Group + "/" + Version)
	u.SetKind(Kind)
	u.SetName(r.Serial)
	u.SetLabels(map[string]string{"kastle.io/source": r.Source})
	return u
}

func toInterfaces(s []string) []interface{} {
	out := make([]interface{}, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// FromObject reads a record from an IssuedCertificate object.
func FromObject(obj runtime.Object) (Record, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return Record{}, fmt.Errorf("certrecord: %T is not an unstructured object", obj)
	}
	str := func(k string) string { v, _, _ := unstructured.NestedString(u.Object, "spec", k); return v }
	strs := func(k string) []string { v, _, _ := unstructured.NestedStringSlice(u.Object, "spec", k); return v }
	tm := func(v string) time.Time { t, _ := time.Parse(time.RFC3339, v); return t }
	r := Record{
		Serial: str("serial"), Subject: str("subject"), CommonName: str("commonName"), Organizations: strs("organizations"),
		DNSNames: strs("dnsNames"), IPAddresses: strs("ipAddresses"), URIs: strs("uris"), Emails: strs("emails"),
		NotBefore: tm(str("notBefore")), NotAfter: tm(str("notAfter")), IssuerKeyID: str("issuerKeyID"), Issuer: str("issuer"),
		Signer: str("signer"), Requester: str("requester"), CSRName: str("csrName"), Source: str("source"),
	}
	if r.Serial == "" {
		r.Serial = u.GetName()
	}
	if rev, ok, _ := unstructured.NestedStringMap(u.Object, "spec", "revocation"); ok {
		r.Revoked = &Revocation{At: tm(rev["revokedAt"]), Reason: rev["reason"], By: rev["revokedBy"]}
	}
	return r, nil
}

// CRD is the IssuedCertificate CustomResourceDefinition the API server
// installs at start.
func CRD() *apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	strList := apiextensionsv1.JSONSchemaProps{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &str}}
	date := apiextensionsv1.JSONSchemaProps{Type: "string", Format: "date-time"}
	spec := apiextensionsv1.JSONSchemaProps{
		Type:     "object",
		Required: []string{"serial", "notAfter"},
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"serial":  {Type: "string", Pattern: "^[0-9a-f]+$", Description: "serial number, lowercase hex"},
			"subject": str, "commonName": str, "organizations": strList,
			"dnsNames": strList, "ipAddresses": strList, "uris": strList, "emails": strList,
			"notBefore": date, "notAfter": date, "issuerKeyID": str, "issuer": str,
			"signer": str, "requester": str, "csrName": str, "source": str,
			"revocation": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"revokedAt": date, "reason": str, "revokedBy": str,
			}},
		},
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: Resource + "." + Group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: Group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: Resource, Singular: "issuedcertificate", Kind: Kind, ListKind: ListKind,
				ShortNames: []string{"issuedcert"}, Categories: []string{"kastle"}},
			Scope: apiextensionsv1.ClusterScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: Version, Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", Required: []string{"spec"},
					Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": spec},
				}},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{
					{Name: "Subject", Type: "string", JSONPath: ".spec.subject"},
					{Name: "Signer", Type: "string", JSONPath: ".spec.signer"},
					{Name: "Requester", Type: "string", JSONPath: ".spec.requester"},
					{Name: "Expires", Type: "date", JSONPath: ".spec.notAfter"},
					{Name: "Revoked", Type: "date", JSONPath: ".spec.revocation.revokedAt"},
				},
			}},
		},
	}
}

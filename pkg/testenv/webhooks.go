package testenv

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kastle-dev/kastle/internal/pki"
)

// webhookCertValidity is the lifetime of the generated webhook CA and
// serving certificate.
const webhookCertValidity = 24 * time.Hour

// ErrWebhooksNotServed is returned (wrapped) by Start when webhook
// configurations are given but the server does not serve
// admissionregistration.k8s.io/v1.
var ErrWebhooksNotServed = errors.New("admission webhooks are not served by this kastle build (no admissionregistration.k8s.io/v1 in discovery)")

// installWebhooks prepares the local serving certificate, points the
// configurations at it and creates them.
func (e *Environment) installWebhooks(ctx context.Context, mutating []*admissionregistrationv1.MutatingWebhookConfiguration, validating []*admissionregistrationv1.ValidatingWebhookConfiguration) error {
	o := &e.WebhookInstallOptions
	if err := e.setUpLocalServing(); err != nil {
		return err
	}
	base := "https://" + net.JoinHostPort(o.LocalServingHost, strconv.Itoa(o.LocalServingPort))
	for _, m := range mutating {
		for i := range m.Webhooks {
			if err := pointAt(&m.Webhooks[i].ClientConfig, base, o.LocalServingCAData); err != nil {
				return fmt.Errorf("testenv: MutatingWebhookConfiguration %s: %w", m.Name, err)
			}
		}
	}
	for _, v := range validating {
		for i := range v.Webhooks {
			if err := pointAt(&v.Webhooks[i].ClientConfig, base, o.LocalServingCAData); err != nil {
				return fmt.Errorf("testenv: ValidatingWebhookConfiguration %s: %w", v.Name, err)
			}
		}
	}
	if served, err := e.servesWebhooks(); err != nil {
		return err
	} else if !served {
		return fmt.Errorf("testenv: %w", ErrWebhooksNotServed)
	}
	api := e.client.AdmissionregistrationV1()
	for _, m := range mutating {
		if err := createOrReplace(ctx, m, api.MutatingWebhookConfigurations()); err != nil {
			return fmt.Errorf("testenv: MutatingWebhookConfiguration %s: %w", m.Name, err)
		}
	}
	for _, v := range validating {
		if err := createOrReplace(ctx, v, api.ValidatingWebhookConfigurations()); err != nil {
			return fmt.Errorf("testenv: ValidatingWebhookConfiguration %s: %w", v.Name, err)
		}
	}
	return nil
}

// servesWebhooks looks for admissionregistration.k8s.io/v1's webhook
// configurations in discovery.
func (e *Environment) servesWebhooks() (bool, error) {
	list, err := e.client.Discovery().ServerResourcesForGroupVersion(admissionregistrationv1.SchemeGroupVersion.String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("testenv: discovery: %w", err)
	}
	found := 0
	for _, r := range list.APIResources {
		if r.Name == "mutatingwebhookconfigurations" || r.Name == "validatingwebhookconfigurations" {
			found++
		}
	}
	return found == 2, nil
}

// read returns copies of the configured objects followed by those read
// from Paths.
func (o *WebhookInstallOptions) read() ([]*admissionregistrationv1.MutatingWebhookConfiguration, []*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	var mutating []*admissionregistrationv1.MutatingWebhookConfiguration
	var validating []*admissionregistrationv1.ValidatingWebhookConfiguration
	for _, m := range o.MutatingWebhooks {
		mutating = append(mutating, m.DeepCopy())
	}
	for _, v := range o.ValidatingWebhooks {
		validating = append(validating, v.DeepCopy())
	}
	gv := admissionregistrationv1.SchemeGroupVersion.String()
	if err := readManifests(o.Paths, !o.IgnoreErrorIfPathMissing, gv, "MutatingWebhookConfiguration", func(u *unstructured.Unstructured) error {
		m, err := fromUnstructured[admissionregistrationv1.MutatingWebhookConfiguration](u)
		if err == nil {
			mutating = append(mutating, m)
		}
		return err
	}); err != nil {
		return nil, nil, err
	}
	if err := readManifests(o.Paths, !o.IgnoreErrorIfPathMissing, gv, "ValidatingWebhookConfiguration", func(u *unstructured.Unstructured) error {
		v, err := fromUnstructured[admissionregistrationv1.ValidatingWebhookConfiguration](u)
		if err == nil {
			validating = append(validating, v)
		}
		return err
	}); err != nil {
		return nil, nil, err
	}
	return mutating, validating, nil
}

// setUpLocalServing fills the Local* options: host, a free port, a
// certificate directory with a fresh CA's serving certificate.
func (e *Environment) setUpLocalServing() error {
	o := &e.WebhookInstallOptions
	if o.LocalServingHost == "" {
		o.LocalServingHost = "127.0.0.1"
	}
	if o.LocalServingPort == 0 {
		port, err := freePort(o.LocalServingHost)
		if err != nil {
			return err
		}
		o.LocalServingPort = port
	}
	if o.LocalServingCertDir == "" {
		dir, err := os.MkdirTemp("", "kastle-testenv-webhook-")
		if err != nil {
			return fmt.Errorf("testenv: %w", err)
		}
		o.LocalServingCertDir, e.ownCertDir = dir, dir
	}
	ca, err := pki.NewSelfSignedCA("kastle-testenv-webhook-ca", pki.DefaultKeyAlgorithm, webhookCertValidity)
	if err != nil {
		return fmt.Errorf("testenv: webhook CA: %w", err)
	}
	spec := pki.CertSpec{CommonName: "kastle-testenv-webhook", DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: webhookCertValidity}
	if ip := net.ParseIP(o.LocalServingHost); ip != nil {
		spec.IPs = append(spec.IPs, ip)
	} else if o.LocalServingHost != "localhost" {
		spec.DNSNames = append(spec.DNSNames, o.LocalServingHost)
	}
	cert, key, err := ca.IssueKeyPair(spec, pki.DefaultKeyAlgorithm)
	if err != nil {
		return fmt.Errorf("testenv: webhook serving certificate: %w", err)
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	o.LocalServingCAData = pki.EncodeCertPEM(ca.Cert)
	for name, data := range map[string][]byte{"tls.crt": pki.EncodeCertPEM(cert), "tls.key": keyPEM, "ca.crt": o.LocalServingCAData} {
		if err := os.WriteFile(filepath.Join(o.LocalServingCertDir, name), data, 0o600); err != nil {
			return fmt.Errorf("testenv: %w", err)
		}
	}
	return nil
}

// freePort asks the kernel for a free port on host. Like envtest, it
// closes the listener: the test's webhook server binds it right after.
func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("testenv: finding a free port for the webhook server: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// pointAt makes a webhook call base (keeping its service's or URL's
// path) and trust caPEM.
func pointAt(cc *admissionregistrationv1.WebhookClientConfig, base string, caPEM []byte) error {
	path := ""
	switch {
	case cc.Service != nil && cc.Service.Path != nil:
		path = *cc.Service.Path
	case cc.URL != nil:
		u, err := url.Parse(*cc.URL)
		if err != nil {
			return fmt.Errorf("webhook URL %q: %w", *cc.URL, err)
		}
		path = u.Path
	}
	target := base + path
	cc.URL, cc.Service = &target, nil
	cc.CABundle = append([]byte(nil), caPEM...)
	return nil
}

// webhookConfig is the part of a typed webhook-configuration client
// createOrReplace needs.
type webhookConfig[T any] interface {
	Create(context.Context, *T, metav1.CreateOptions) (*T, error)
	Get(context.Context, string, metav1.GetOptions) (*T, error)
	Update(context.Context, *T, metav1.UpdateOptions) (*T, error)
}

// createOrReplace creates obj, or replaces the one of its name left by
// an earlier start on the same data dir.
func createOrReplace[T any, P interface {
	*T
	metav1.Object
}](ctx context.Context, obj P, client webhookConfig[T]) error {
	_, err := client.Create(ctx, obj, metav1.CreateOptions{FieldManager: "testenv"})
	for apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
		var cur P
		if cur, err = client.Get(ctx, obj.GetName(), metav1.GetOptions{}); err != nil {
			break
		}
		obj.SetResourceVersion(cur.GetResourceVersion())
		_, err = client.Update(ctx, obj, metav1.UpdateOptions{FieldManager: "testenv"})
	}
	return err
}

package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Getter reads one object (a registry store); resourceVersion "0" allows a
// cached answer.
type Getter interface {
	Get(ctx context.Context, ns, name, resourceVersion string) (runtime.Object, error)
}

// endpointClient calls one webhook: its TLS roots and server name are fixed
// when the configuration is compiled.
type endpointClient struct {
	http *http.Client
	// url is set for clientConfig.url; service for clientConfig.service.
	url     *url.URL
	service *admissionregistrationv1.ServiceReference
}

func newEndpointClient(cc admissionregistrationv1.WebhookClientConfig) (*endpointClient, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(cc.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cc.CABundle) {
			return nil, fmt.Errorf("clientConfig.caBundle holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	}
	c := &endpointClient{}
	switch {
	case cc.URL != nil:
		u, err := url.Parse(*cc.URL)
		if err != nil {
			return nil, err
		}
		c.url = u
	case cc.Service != nil:
		c.service = cc.Service
		// The certificate names the service, not the endpoint we dial.
		tlsCfg.ServerName = cc.Service.Name + "." + cc.Service.Namespace + ".svc"
	default:
		return nil, fmt.Errorf("clientConfig has neither url nor service")
	}
	tr := &http.Transport{
		TLSClientConfig:     tlsCfg,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// target returns the URL to post to: the configured one, or an endpoint
// address of the service read from the cluster.
func (c *endpointClient) target(ctx context.Context, services, endpoints Getter) (string, error) {
	if c.url != nil {
		return c.url.String(), nil
	}
	s := c.service
	port := int32(443)
	if s.Port != nil {
		port = *s.Port
	}
	host, err := ResolveService(ctx, services, endpoints, nil, s.Namespace, s.Name, port)
	if err != nil {
		return "", err
	}
	path := "/"
	if s.Path != nil {
		path = *s.Path
	}
	u := url.URL{Scheme: "https", Host: host, Path: path}
	return u.String(), nil
}

// Why ResolveService could not find an address; its errors wrap one of
// these (API aggregation reports them as availability reasons).
var (
	ErrServiceNotFound = errors.New("service not found")
	ErrServicePort     = errors.New("service has no such port")
	ErrNoEndpoints     = errors.New("service has no endpoints")
)

// resolveError keeps the message clients have always seen while letting
// callers tell the cause with errors.Is.
type resolveError struct {
	kind, cause error
	msg         string
}

func (e *resolveError) Error() string   { return e.msg }
func (e *resolveError) Unwrap() []error { return []error{e.kind, e.cause} }

// Lister lists objects of a namespace (a registry store).
type Lister interface {
	List(ctx context.Context, ns string, opts *metav1.ListOptions) (runtime.Object, error)
}

// ResolveService returns the host:port to dial for port of the Service
// namespace/name, read from the cluster: the host and port of an
// ExternalName service, else the first ready address of the Endpoints
// subset that carries that service port, else (slices not nil) of the
// service's EndpointSlices. No cluster network is needed, since the
// endpoint is dialled directly.
func ResolveService(ctx context.Context, services, endpoints Getter, slices Lister, namespace, name string, port int32) (string, error) {
	svcObj, err := services.Get(ctx, namespace, name, "0")
	if err != nil {
		return "", &resolveError{kind: ErrServiceNotFound, cause: err, msg: fmt.Sprintf("service %q not found in namespace %q: %v", name, namespace, err)}
	}
	svc, ok := svcObj.(*corev1.Service)
	if !ok {
		return "", fmt.Errorf("service %s/%s has type %T", namespace, name, svcObj)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		// An ExternalName service names its host: dial it on the port.
		return net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(port))), nil
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return "", &resolveError{kind: ErrServicePort, msg: fmt.Sprintf("service %s/%s has no port %d", namespace, name, port)}
	}
	noEndpoints := &resolveError{kind: ErrNoEndpoints, msg: fmt.Sprintf("no endpoints available for service %q", name)}
	if epObj, err := endpoints.Get(ctx, namespace, name, "0"); err != nil {
		noEndpoints.cause = err
	} else if ep, ok := epObj.(*corev1.Endpoints); ok {
		for _, ss := range ep.Subsets {
			var target int32
			for _, p := range ss.Ports {
				if p.Name == sp.Name || len(ss.Ports) == 1 {
					target = p.Port
					break
				}
			}
			if target == 0 || len(ss.Addresses) == 0 {
				continue
			}
			return net.JoinHostPort(ss.Addresses[0].IP, strconv.Itoa(int(target))), nil
		}
	}
	if slices != nil {
		if host, ok := fromSlices(ctx, slices, namespace, name, sp.Name); ok {
			return host, nil
		}
	}
	return "", noEndpoints
}

// fromSlices returns the first ready address of the service's
// EndpointSlices that carry the named port.
func fromSlices(ctx context.Context, slices Lister, namespace, name, portName string) (string, bool) {
	obj, err := slices.List(ctx, namespace, &metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name, ResourceVersion: "0"})
	if err != nil {
		return "", false
	}
	list, ok := obj.(*discoveryv1.EndpointSliceList)
	if !ok {
		return "", false
	}
	for _, es := range list.Items {
		var target int32
		for _, p := range es.Ports {
			if p.Port != nil && ((p.Name != nil && *p.Name == portName) || len(es.Ports) == 1) {
				target = *p.Port
				break
			}
		}
		if target == 0 {
			continue
		}
		for _, e := range es.Endpoints {
			if (e.Conditions.Ready == nil || *e.Conditions.Ready) && len(e.Addresses) > 0 {
				return net.JoinHostPort(e.Addresses[0], strconv.Itoa(int(target))), true
			}
		}
	}
	return "", false
}

// Endpoint posts JSON documents to one webhook named by a clientConfig
// (URL or Service, caBundle), as admission does; CRD conversion webhooks
// use it too.
type Endpoint struct {
	c                   *endpointClient
	services, endpoints Getter
}

// NewEndpoint builds the client of cc; services and endpoints resolve the
// Service form.
func NewEndpoint(cc admissionregistrationv1.WebhookClientConfig, services, endpoints Getter) (*Endpoint, error) {
	c, err := newEndpointClient(cc)
	if err != nil {
		return nil, err
	}
	return &Endpoint{c: c, services: services, endpoints: endpoints}, nil
}

// Post sends body (JSON) and returns the body of a 2xx answer; ctx bounds
// the whole exchange.
func (e *Endpoint) Post(ctx context.Context, body []byte) ([]byte, error) {
	target, err := e.c.target(ctx, e.services, e.endpoints)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := e.c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("the server responded with the status code %d", resp.StatusCode)
	}
	return data, nil
}

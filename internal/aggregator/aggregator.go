package aggregator

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/kastle-dev/kastle/internal/admission/webhook"
	"github.com/kastle-dev/kastle/internal/apiserver/discovery"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// Availability reasons of the APIService Available condition, as
// kube-aggregator sets them.
const (
	ReasonLocal                = "Local"
	ReasonPassed               = "Passed"
	ReasonServiceNotFound      = "ServiceNotFound"
	ReasonServicePortError     = "ServicePortError"
	ReasonMissingEndpoints     = "MissingEndpoints"
	ReasonFailedDiscoveryCheck = "FailedDiscoveryCheck"
)

// checkTimeout bounds one availability check (and each document fetch),
// as kube-aggregator's.
const checkTimeout = 5 * time.Second

// maxDocumentBytes bounds what is read of an extension's discovery and
// OpenAPI documents.
const maxDocumentBytes = 32 << 20

// selfUser is who the aggregator's own requests (availability checks,
// discovery and OpenAPI fetches) are made as, as kube-aggregator's.
var selfUser = &user.Info{Name: "system:kube-aggregator", Groups: []string{"system:masters"}}

// Headers names the front-proxy headers.
type Headers struct {
	// Username, Group and ExtraPrefix are sent to extension servers
	// (X-Remote-User, X-Remote-Group, X-Remote-Extra- by default).
	Username, Group, ExtraPrefix string
	// Strip lists further header names, and StripPrefixes header
	// prefixes, removed from every proxied request: whatever identity a
	// caller put in headers is never passed on as its own.
	Strip, StripPrefixes []string
}

// DefaultHeaders are kube-apiserver's default front-proxy headers.
func DefaultHeaders() Headers {
	return Headers{Username: "X-Remote-User", Group: "X-Remote-Group", ExtraPrefix: "X-Remote-Extra-"}
}

// Config configures an Aggregator. Every field but Recheck is required.
type Config struct {
	// ClientCert returns the client certificate presented to extension
	// servers (--proxy-client-cert-file/-key-file, as they are now).
	ClientCert func() (*tls.Certificate, error)
	Headers    Headers
	// Services and Endpoints (then EndpointSlices) resolve an
	// APIService's service to an endpoint address, dialled directly (no
	// cluster network needed).
	Services, Endpoints webhook.Getter
	EndpointSlices      webhook.Lister
	// ServiceRouting dials the Service's cluster IP instead of an
	// endpoint (kube-apiserver's --enable-aggregator-routing=false).
	ServiceRouting bool
	Log            *slog.Logger
	// Recheck, if set, is called when a proxied request could not reach
	// its server, so availability is checked again soon.
	Recheck func()
}

// Aggregator routes the group versions of APIServices that name a
// Service. Safe for concurrent use; Sync replaces its view.
type Aggregator struct {
	cfg   Config
	state atomic.Pointer[snapshot]
	gen   atomic.Uint64
	mu    sync.Mutex // serialises Sync
	// buffers are the proxy's copy buffers.
	buffers bufferPool
}

// snapshot is an immutable view of the remote APIServices.
type snapshot struct {
	byGV map[schema.GroupVersion]*backend
}

// backend is one remote APIService and what is known of its server.
type backend struct {
	name      string
	spec      apiregistrationv1.APIServiceSpec
	transport *http.Transport
	// upgrades speaks HTTP/1.1 only: Go's transport would otherwise send
	// non-WebSocket upgrades (SPDY) over an HTTP/2 connection, which
	// cannot carry them.
	upgrades *http.Transport
	// Set by the last check.
	available bool
	cond      apiregistrationv1.APIServiceCondition
	resources *metav1.APIResourceList // nil: never read, or unavailable
	openapiV2 []byte                  // the server's /openapi/v2 (JSON), nil if none
	openapiV3 map[string]string       // its /openapi/v3 paths → server-relative URLs
}

// New returns an Aggregator with no APIServices, or an error when the
// proxy client certificate cannot be loaded.
func New(cfg Config) (*Aggregator, error) {
	if cfg.Services == nil || cfg.Endpoints == nil || cfg.EndpointSlices == nil || cfg.Log == nil || cfg.ClientCert == nil {
		return nil, errors.New("aggregator: services, endpoints, endpoint slices, a client certificate and a logger are required")
	}
	if cfg.Headers.Username == "" || cfg.Headers.Group == "" || cfg.Headers.ExtraPrefix == "" {
		return nil, errors.New("aggregator: the front-proxy header names are required")
	}
	if _, err := cfg.ClientCert(); err != nil {
		return nil, fmt.Errorf("--proxy-client-cert-file/--proxy-client-key-file: %w", err)
	}
	a := &Aggregator{cfg: cfg}
	a.state.Store(&snapshot{byGV: map[schema.GroupVersion]*backend{}})
	return a, nil
}

// Generation changes whenever what External or OpenAPI report changes.
func (a *Aggregator) Generation() uint64 { return a.gen.Load() }

// External implements discovery.Externals: every remote APIService's group
// version, with its server's resources when it is available.
func (a *Aggregator) External() []discovery.External {
	st := a.state.Load()
	out := make([]discovery.External, 0, len(st.byGV))
	for gv, b := range st.byGV {
		e := discovery.External{GroupVersion: gv, GroupPriority: b.spec.GroupPriorityMinimum, VersionPriority: b.spec.VersionPriority}
		if b.available {
			e.Resources = b.resources
		}
		out = append(out, e)
	}
	return out
}

// Sync makes the remote APIServices of list the routed ones, checks each
// one's availability and reads its discovery and OpenAPI documents. It
// returns the Available condition of every remote APIService by name
// (Local ones are not included). Checks run concurrently, each bounded.
func (a *Aggregator) Sync(ctx context.Context, list []apiregistrationv1.APIService) map[string]apiregistrationv1.APIServiceCondition {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.state.Load()
	next := &snapshot{byGV: map[schema.GroupVersion]*backend{}}
	for i := range list {
		s := &list[i]
		if s.Spec.Service == nil {
			continue
		}
		gv := schema.GroupVersion{Group: s.Spec.Group, Version: s.Spec.Version}
		b := &backend{name: s.Name, spec: *s.Spec.DeepCopy()}
		if prev := old.byGV[gv]; prev != nil && reflect.DeepEqual(prev.spec, b.spec) {
			b.transport, b.upgrades = prev.transport, prev.upgrades
			b.available, b.cond, b.resources, b.openapiV2, b.openapiV3 = prev.available, prev.cond, prev.resources, prev.openapiV2, prev.openapiV3
		} else {
			t, err := a.newTransport(b.spec)
			if err != nil {
				b.cond = condition(false, ReasonFailedDiscoveryCheck, err.Error())
			} else {
				b.transport = t
				b.upgrades = t.Clone()
				b.upgrades.ForceAttemptHTTP2 = false
				b.upgrades.TLSClientConfig.NextProtos = []string{"http/1.1"}
				b.upgrades.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			}
		}
		next.byGV[gv] = b
	}
	var wg sync.WaitGroup
	for _, b := range next.byGV {
		if b.transport == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.check(ctx, b)
		}()
	}
	wg.Wait()
	for gv, b := range old.byGV {
		if n := next.byGV[gv]; b.transport != nil && (n == nil || n.transport != b.transport) {
			b.transport.CloseIdleConnections()
			b.upgrades.CloseIdleConnections()
		}
	}
	// Stored before the generation moves: whoever sees the new
	// generation reads the new state.
	a.state.Store(next)
	if changed(old, next) {
		a.gen.Add(1)
	}
	out := map[string]apiregistrationv1.APIServiceCondition{}
	for _, b := range next.byGV {
		out[b.name] = b.cond
	}
	return out
}

// changed reports whether what discovery or OpenAPI see differs.
func changed(a, b *snapshot) bool {
	if len(a.byGV) != len(b.byGV) {
		return true
	}
	for gv, x := range a.byGV {
		y := b.byGV[gv]
		if y == nil || x.available != y.available || x.spec.GroupPriorityMinimum != y.spec.GroupPriorityMinimum ||
			x.spec.VersionPriority != y.spec.VersionPriority || !reflect.DeepEqual(x.resources, y.resources) ||
			!bytes.Equal(x.openapiV2, y.openapiV2) || !reflect.DeepEqual(x.openapiV3, y.openapiV3) {
			return true
		}
	}
	return false
}

func condition(ok bool, reason, msg string) apiregistrationv1.APIServiceCondition {
	st := apiregistrationv1.ConditionFalse
	if ok {
		st = apiregistrationv1.ConditionTrue
	}
	return apiregistrationv1.APIServiceCondition{Type: apiregistrationv1.Available, Status: st, Reason: reason, Message: msg}
}

// check reads the server's discovery document for its group version with
// the proxy certificate as system:kube-aggregator; a 200 with a resource
// list is Passed. The OpenAPI documents are read again when the resources
// changed or were never read.
func (a *Aggregator) check(ctx context.Context, b *backend) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	gvPath := "/apis/" + b.spec.Group + "/" + b.spec.Version
	host, err := a.resolve(ctx, b.spec.Service)
	if err != nil {
		b.available, b.resources = false, nil
		switch {
		case errors.Is(err, webhook.ErrServiceNotFound):
			b.cond = condition(false, ReasonServiceNotFound, fmt.Sprintf("service/%s in %q is not present", b.spec.Service.Name, b.spec.Service.Namespace))
		case errors.Is(err, webhook.ErrServicePort):
			b.cond = condition(false, ReasonServicePortError, fmt.Sprintf("service/%s in %q is not listening on port %d", b.spec.Service.Name, b.spec.Service.Namespace, servicePort(b.spec.Service)))
		case errors.Is(err, webhook.ErrNoEndpoints):
			b.cond = condition(false, ReasonMissingEndpoints, fmt.Sprintf("endpoints for service/%s in %q have no addresses", b.spec.Service.Name, b.spec.Service.Namespace))
		default:
			b.cond = condition(false, ReasonFailedDiscoveryCheck, err.Error())
		}
		return
	}
	var list metav1.APIResourceList
	body, code, err := a.fetch(ctx, b, host, gvPath, "application/json")
	if err == nil && code == http.StatusOK {
		err = json.Unmarshal(body, &list)
	}
	switch {
	case err != nil:
		b.cond = condition(false, ReasonFailedDiscoveryCheck, fmt.Sprintf("failing or missing response from %s: %v", "https://"+host+gvPath, err))
	case code != http.StatusOK:
		b.cond = condition(false, ReasonFailedDiscoveryCheck, fmt.Sprintf("failing or missing response from %s: bad status from %s: %d", "https://"+host+gvPath, "https://"+host+gvPath, code))
	default:
		b.cond = condition(true, ReasonPassed, "all checks passed")
	}
	b.available = b.cond.Status == apiregistrationv1.ConditionTrue
	if !b.available {
		b.resources = nil
		return
	}
	fresh := b.resources == nil || !reflect.DeepEqual(b.resources, &list)
	b.resources = &list
	if fresh || (b.openapiV2 == nil && b.openapiV3 == nil) {
		a.readOpenAPI(ctx, b, host)
	}
}

// readOpenAPI reads the server's Swagger 2.0 document and OpenAPI v3
// index; a server without them simply contributes nothing.
func (a *Aggregator) readOpenAPI(ctx context.Context, b *backend, host string) {
	if body, code, err := a.fetch(ctx, b, host, "/openapi/v2", "application/json"); err == nil && code == http.StatusOK && json.Valid(body) {
		b.openapiV2 = body
	}
	body, code, err := a.fetch(ctx, b, host, "/openapi/v3", "application/json")
	if err != nil || code != http.StatusOK {
		return
	}
	var idx struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if json.Unmarshal(body, &idx) != nil {
		return
	}
	prefix := "apis/" + b.spec.Group + "/" + b.spec.Version
	for p, e := range idx.Paths {
		// Only the documents of the group version this APIService owns.
		if p == prefix && strings.HasPrefix(e.ServerRelativeURL, "/openapi/v3/") {
			b.openapiV3 = map[string]string{p: e.ServerRelativeURL}
		}
	}
}

// fetch GETs path from the server as the aggregator itself.
func (a *Aggregator) fetch(ctx context.Context, b *backend, host, path, accept string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+path, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Host = serverName(b.spec.Service)
	req.Header.Set("Accept", accept)
	a.setIdentity(req.Header, selfUser)
	resp, err := b.transport.RoundTrip(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes))
	return body, resp.StatusCode, err
}

// resolve returns host:port to dial for a service reference.
func (a *Aggregator) resolve(ctx context.Context, ref *apiregistrationv1.ServiceReference) (string, error) {
	host, err := webhook.ResolveService(ctx, a.cfg.Services, a.cfg.Endpoints, a.cfg.EndpointSlices, ref.Namespace, ref.Name, servicePort(ref))
	if err != nil || !a.cfg.ServiceRouting {
		return host, err
	}
	obj, err := a.cfg.Services.Get(ctx, ref.Namespace, ref.Name, "0")
	if err != nil {
		return "", err
	}
	svc, ok := obj.(*corev1.Service)
	if !ok || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return host, nil // headless or ExternalName: the endpoint is the address
	}
	return net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(servicePort(ref)))), nil
}

func servicePort(ref *apiregistrationv1.ServiceReference) int32 {
	if ref.Port != nil {
		return *ref.Port
	}
	return 443
}

// serverName is the name the extension's serving certificate must carry:
// the service's DNS name, though an endpoint address is dialled.
func serverName(ref *apiregistrationv1.ServiceReference) string {
	return ref.Name + "." + ref.Namespace + ".svc"
}

// newTransport builds the TLS client of one APIService: its caBundle (or
// no verification with insecureSkipTLSVerify), the service's DNS name as
// server name, the proxy client certificate.
func (a *Aggregator) newTransport(spec apiregistrationv1.APIServiceSpec) (*http.Transport, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName(spec.Service),
		InsecureSkipVerify:   spec.InsecureSkipTLSVerify, //nolint:gosec // the APIService asks for it explicitly
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return a.cfg.ClientCert() }}
	if len(spec.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(spec.CABundle) {
			return nil, errors.New("spec.caBundle holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	}
	return &http.Transport{
		TLSClientConfig:     tlsCfg,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}, nil
}

// OpenAPIV2 returns the Swagger 2.0 documents of the available servers,
// ordered by APIService name.
func (a *Aggregator) OpenAPIV2() [][]byte {
	st := a.state.Load()
	var names []string
	docs := map[string][]byte{}
	for _, b := range st.byGV {
		if b.available && b.openapiV2 != nil {
			names = append(names, b.name)
			docs[b.name] = b.openapiV2
		}
	}
	sort.Strings(names)
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		out = append(out, docs[n])
	}
	return out
}

// OpenAPIV3 returns the OpenAPI v3 index entries of the available
// servers: document path ("apis/<group>/<version>") → server-relative URL.
func (a *Aggregator) OpenAPIV3() map[string]string {
	out := map[string]string{}
	for _, b := range a.state.Load().byGV {
		if b.available {
			for p, u := range b.openapiV3 {
				out[p] = u
			}
		}
	}
	return out
}

// escapeExtraKey %-encodes the bytes of an extra key that may not appear
// in a header name (and '%' itself), so that keys such as
// "example.com/scope" survive the trip.
func escapeExtraKey(k string) string {
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		c := k[i]
		if isTokenChar(c) && c != '%' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// isTokenChar reports RFC 9110 token characters.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// setIdentity replaces every identity header of h with u's.
func (a *Aggregator) setIdentity(h http.Header, u *user.Info) {
	hd := a.cfg.Headers
	h.Del("Authorization")
	for _, n := range append([]string{hd.Username, hd.Group}, hd.Strip...) {
		h.Del(n)
	}
	for k := range h {
		lk := strings.ToLower(k)
		drop := strings.HasPrefix(lk, "impersonate-") || strings.HasPrefix(lk, strings.ToLower(hd.ExtraPrefix))
		for _, p := range hd.StripPrefixes {
			drop = drop || strings.HasPrefix(lk, strings.ToLower(p))
		}
		if drop {
			delete(h, k)
		}
	}
	h.Set(hd.Username, u.Name)
	for _, g := range u.Groups {
		h.Add(hd.Group, g)
	}
	keys := make([]string, 0, len(u.Extra))
	for k := range u.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range u.Extra[k] {
			h.Add(hd.ExtraPrefix+escapeExtraKey(k), v)
		}
	}
}

// target returns the backend serving path, if an APIService routes it:
// /apis/<group>/<version> and everything below.
func (a *Aggregator) target(path string) (*backend, bool) {
	rest, ok := strings.CutPrefix(path, "/apis/")
	if !ok {
		return nil, false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return nil, false
	}
	b := a.state.Load().byGV[schema.GroupVersion{Group: parts[0], Version: parts[1]}]
	return b, b != nil
}

// Routes reports whether path belongs to a remote APIService.
func (a *Aggregator) Routes(path string) bool {
	_, ok := a.target(path)
	return ok
}

// endpointURL is the URL of path on a resolved server.
func endpointURL(host string, in *url.URL) *url.URL {
	return &url.URL{Scheme: "https", Host: host, Path: in.Path, RawPath: in.RawPath, RawQuery: in.RawQuery}
}

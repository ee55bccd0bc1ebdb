package apiserver

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/aggregator"
	"github.com/kastle-dev/kastle/internal/auth/authn"
	"github.com/kastle-dev/kastle/internal/pki"
	"github.com/kastle-dev/kastle/internal/registry"
)

// extensionAuthConfigMap is where extension API servers read how to
// authenticate the requests kastle proxies to them.
const extensionAuthConfigMap = "extension-apiserver-authentication"

// extensionAuthResync is how often the ConfigMap is checked against the
// files it publishes (a replaced CA file shows up within it).
const extensionAuthResync = time.Minute

// frontProxy is the resolved request-header and proxy-client setup.
type frontProxy struct {
	caFile              string // --requestheader-client-ca-file
	certFile, keyFile   string // --proxy-client-cert-file/-key-file
	allowedNames        []string
	username, group, ex []string
}

// ensureFrontProxy resolves the aggregation flags: each file not given is
// the PKI's front-proxy-ca / front-proxy-client, ensured here (and then
// renewed with the other layout certificates), so aggregation works with
// no flags, as on a kubeadm cluster. Allowed names default to the
// generated client's name only when the CA is the generated one.
func ensureFrontProxy(cfg Config, p *pki.ServerPKI) (*frontProxy, error) {
	fp := &frontProxy{caFile: cfg.RequestHeaderClientCAFile, certFile: cfg.ProxyClientCertFile, keyFile: cfg.ProxyClientKeyFile,
		allowedNames: cfg.RequestHeaderAllowedNames, username: cfg.RequestHeaderUsernameHeaders,
		group: cfg.RequestHeaderGroupHeaders, ex: cfg.RequestHeaderExtraHeadersPrefix}
	if (fp.certFile == "") != (fp.keyFile == "") {
		return nil, errors.New("--proxy-client-cert-file and --proxy-client-key-file go together")
	}
	if fp.caFile == "" || fp.certFile == "" {
		layout := pki.Layout()
		caRow, caSpec, err := layout.GetSpec(pki.CertFrontProxyCA)
		if err != nil {
			return nil, err
		}
		store := pki.Store{Dir: p.Dir}
		ca, err := store.EnsureCA(caRow.Base, caSpec)
		if err != nil {
			return nil, fmt.Errorf("front proxy CA: %w", err)
		}
		if fp.caFile == "" {
			fp.caFile = caRow.CertPath(p.Dir)
			if len(fp.allowedNames) == 0 {
				fp.allowedNames = []string{pki.CertFrontProxyClient}
			}
		}
		if fp.certFile == "" {
			if ca.Key == nil {
				return nil, fmt.Errorf("front proxy client: %s has no key and no --proxy-client-cert-file was given", caRow.CertPath(p.Dir))
			}
			row, spec, err := layout.GetSpec(pki.CertFrontProxyClient)
			if err != nil {
				return nil, err
			}
			if cfg.CertificateValidity > 0 {
				spec.Validity = cfg.CertificateValidity
			}
			kp, err := store.EnsureLeaf(row.Base, ca, spec)
			if errors.Is(err, pki.ErrExpired) {
				if err = os.Remove(row.CertPath(p.Dir)); err == nil {
					kp, err = store.EnsureLeaf(row.Base, ca, spec)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("front proxy client: %w", err)
			}
			fp.certFile, fp.keyFile = kp.CertFile, kp.KeyFile
		}
	}
	def := aggregator.DefaultHeaders()
	if len(fp.username) == 0 {
		fp.username = []string{def.Username}
	}
	if len(fp.group) == 0 {
		fp.group = []string{def.Group}
	}
	if len(fp.ex) == 0 {
		fp.ex = []string{def.ExtraPrefix}
	}
	return fp, nil
}

// requestHeaderAuth is the request-header authenticator of fp.
func (s *server) requestHeaderAuth(fp *frontProxy) (*authn.RequestHeader, *authn.CAFile, error) {
	ca, err := authn.NewCAFile(fp.caFile, time.Now, s.log)
	if err != nil {
		return nil, nil, fmt.Errorf("--requestheader-client-ca-file: %w", err)
	}
	return &authn.RequestHeader{CA: ca, AllowedNames: fp.allowedNames, UsernameHeaders: fp.username,
		GroupHeaders: fp.group, ExtraPrefixes: fp.ex, Cache: authn.NewChainCache(0)}, ca, nil
}

// newAggregator builds the proxy to extension API servers and merges
// their group versions into discovery and OpenAPI.
func (s *server) newAggregator(fp *frontProxy, recheck func()) error {
	h := aggregator.DefaultHeaders()
	h.Username, h.Group, h.ExtraPrefix = fp.username[0], fp.group[0], fp.ex[0]
	h.Strip = append(append([]string{"X-Remote-User", "X-Remote-Group"}, fp.username...), fp.group...)
	h.StripPrefixes = append([]string{"X-Remote-Extra-"}, fp.ex...)
	agg, err := aggregator.New(aggregator.Config{
		ClientCert: (&filePair{certFile: fp.certFile, keyFile: fp.keyFile}).get, Headers: h,
		Services: s.storeOf("", "services"), Endpoints: s.storeOf("", "endpoints"),
		EndpointSlices: s.storeOf("discovery.k8s.io", "endpointslices"),
		Log:            s.log.With("component", "aggregator"), Recheck: recheck, ServiceRouting: !s.cfg.EnableAggregatorRouting,
	})
	if err != nil {
		return err
	}
	s.aggregator = agg
	s.discovery.SetExternals(agg)
	s.openapi.SetExternals(agg)
	return nil
}

// handshakeCAs lists both client CAs in the TLS CertificateRequest, so
// clients that pick their certificate by acceptable CA (Go's) present a
// front-proxy certificate too. The union pool is rebuilt only when one of
// the two pools changed.
type handshakeCAs struct {
	requestHeader *authn.CAFile
	mu            sync.Mutex
	client, rh    *x509.CertPool
	union         *x509.CertPool
}

func (h *handshakeCAs) pool(client *x509.CertPool) *x509.CertPool {
	rh := h.requestHeader.Pool()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.union != nil && h.client == client && h.rh == rh {
		return h.union
	}
	union := x509.NewCertPool()
	if client != nil {
		union = client.Clone()
	}
	union.AppendCertsFromPEM(h.requestHeader.PEM())
	h.client, h.rh, h.union = client, rh, union
	return union
}

// extensionAuthData is the ConfigMap's content, as kube-apiserver
// publishes it: CA bundles as PEM, header settings as JSON lists.
func extensionAuthData(clientCA, requestHeaderCA []byte, fp *frontProxy) (map[string]string, error) {
	data := map[string]string{"client-ca-file": string(clientCA), "requestheader-client-ca-file": string(requestHeaderCA)}
	for k, v := range map[string][]string{
		"requestheader-allowed-names":        fp.allowedNames,
		"requestheader-username-headers":     fp.username,
		"requestheader-group-headers":        fp.group,
		"requestheader-extra-headers-prefix": fp.ex,
	} {
		if v == nil {
			v = []string{}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		data[k] = string(b)
	}
	return data, nil
}

// publishExtensionAuth keeps kube-system/extension-apiserver-authentication
// current: at start and every extensionAuthResync, the CA files are read
// again and the ConfigMap rewritten if it differs.
func (s *server) publishExtensionAuth(ctx context.Context, clientCAFile string, rhCA *authn.CAFile, fp *frontProxy) {
	st := s.storeOf("", "configmaps")
	sync := func() {
		clientCA, err := os.ReadFile(clientCAFile)
		if err != nil {
			s.log.Warn("reading the client CA for "+extensionAuthConfigMap, "err", err)
			return
		}
		data, err := extensionAuthData(clientCA, rhCA.PEM(), fp)
		if err != nil {
			s.log.Warn("building "+extensionAuthConfigMap, "err", err)
			return
		}
		if err := upsertConfigMap(ctx, st, metav1.NamespaceSystem, extensionAuthConfigMap, data); err != nil {
			s.log.Warn("publishing "+extensionAuthConfigMap, "err", err)
		}
	}
	sync()
	go every(ctx, extensionAuthResync, sync)
}

// upsertConfigMap creates the ConfigMap or replaces its data when it
// differs (a deleted or edited one is restored).
func upsertConfigMap(ctx context.Context, st *registry.Store, ns, name string, data map[string]string) error {
	cur, err := st.Get(ctx, ns, name, "")
	if apierrors.IsNotFound(err) {
		cm := st.Resource.New().(*corev1.ConfigMap)
		cm.Name, cm.Namespace, cm.Data = name, ns, data
		_, err = st.Create(ctx, ns, cm, registry.WriteOptions{FieldManager: "kube-apiserver"})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if maps.Equal(cur.(*corev1.ConfigMap).Data, data) {
		return nil
	}
	_, err = st.Update(ctx, ns, name, func(obj kruntime.Object) (kruntime.Object, error) {
		cm := obj.(*corev1.ConfigMap)
		cm.Data = data
		return cm, nil
	}, registry.WriteOptions{FieldManager: "kube-apiserver"})
	if apierrors.IsConflict(err) {
		return nil // the next resync tries again
	}
	return err
}

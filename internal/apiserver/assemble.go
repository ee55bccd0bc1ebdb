package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/applyconfigurations"

	"github.com/kastle-dev/kastle/internal/admission"
	"github.com/kastle-dev/kastle/internal/aggregator"
	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/discovery"
	"github.com/kastle-dev/kastle/internal/apiserver/endpoints"
	"github.com/kastle-dev/kastle/internal/apiserver/openapi"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/apiserver/status"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	saauth "github.com/kastle-dev/kastle/internal/auth/serviceaccount"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/servicealloc"
	"github.com/kastle-dev/kastle/internal/storage"
	"github.com/kastle-dev/kastle/internal/storage/cacher"
	"github.com/kastle-dev/kastle/internal/storage/encryption"
	"github.com/kastle-dev/kastle/internal/storage/etcd3"
)

// The Kubernetes version kastle reports: kubectl's dispatcher picks its
// binary by the minor version.
const (
	kubeMajor      = "1"
	kubeMinor      = "32"
	kubeGitVersion = "v1.32.4"
)

// server holds the assembled parts of a running API server.
type server struct {
	cfg  Config
	log  *slog.Logger
	etcd *clientv3.Client
	// services allocates Services' cluster IPs and node ports.
	services  *servicealloc.Allocator
	scheme    *kruntime.Scheme
	ser       *apis.Serializers
	catalogue *apis.Catalogue
	stores    *stores
	fields    *registry.FieldManagers
	admission admission.Chain
	// encryption transforms stored values (nil: stored as encoded).
	encryption *encryption.Transformers
	// reviews answers review APIs and TokenRequests.
	reviews *reviewer
	// authz holds the authorizers --authorization-mode selected.
	authz *authorizers
	// authorizer decides every request and answers access reviews.
	authorizer authz.Authorizer
	metrics    *metrics
	openapi    *openapi.Service
	discovery  *discovery.Handler
	resources  *endpoints.Handler
	// aggregator proxies the group versions of remote APIServices.
	aggregator *aggregator.Aggregator
	// apiServicesKick asks the APIService controller for a run.
	apiServicesKick kick

	// storages holds one storage per etcd prefix: versions of a resource
	// share it.
	storageMu sync.Mutex
	storages  map[string]storage.Interface
	// encodings bounds the serialized forms all watch caches keep.
	encodings *storage.EncodingBudget

	done  chan struct{}
	ready atomic.Bool
}

func newServer(cfg Config, client *clientv3.Client, log *slog.Logger) (*server, error) {
	scheme, err := apis.NewScheme()
	if err != nil {
		return nil, err
	}
	cat, err := apis.NewCatalogue()
	if err != nil {
		return nil, err
	}
	s := &server{
		cfg: cfg, log: log, etcd: client, scheme: scheme,
		ser: apis.NewSerializers(scheme), catalogue: cat, stores: newStores(),
		metrics: newMetrics(), openapi: openapi.NewService(),
		storages: map[string]storage.Interface{}, done: make(chan struct{}),
	}
	if cfg.EncryptionProviderConfig != "" {
		ec, err := encryption.LoadConfig(cfg.EncryptionProviderConfig)
		if err != nil {
			return nil, err
		}
		if s.encryption, err = encryption.New(ec); err != nil {
			return nil, err
		}
	}
	if s.authz, err = newAuthorizers(cfg.AuthorizationModes); err != nil {
		return nil, err
	}
	s.authorizer = s.authz.chain
	s.reviews = &reviewer{s: s, authorizer: s.authorizer, rbac: s.authz.rbac}
	s.fields = registry.NewFieldManagers(scheme, &typeConverters{scheme: scheme, openapi: s.openapi})
	s.discovery = discovery.New(cat)
	s.resources = &endpoints.Handler{
		Catalogue: cat, Stores: s.stores, Ser: s.ser, Log: log, Done: s.done,
		MinRequestTimeout: cfg.MinRequestTimeout, Watches: s.metrics,
		Reviews: s.reviews,
		Reads:   &componentStatuses{s: s, inProcessControllers: cfg.RunControllers},
	}
	for _, r := range cat.Resources() {
		if err := s.addStore(r); err != nil {
			return nil, err
		}
	}
	svcStore, _ := s.stores.Store(mustLookup(cat, "", "v1", "services"))
	if s.services, err = newServiceAllocator(cfg, client, svcStore.Key, log); err != nil {
		return nil, err
	}
	svcStore.Hooks = s.services
	nsStore, _ := s.stores.Store(mustLookup(cat, "", "v1", "namespaces"))
	saStore, _ := s.stores.Store(mustLookup(cat, "", "v1", "serviceaccounts"))
	podStore, _ := s.stores.Store(mustLookup(cat, "", "v1", "pods"))
	nodeStore, _ := s.stores.Store(mustLookup(cat, "", "v1", "nodes"))
	quotaStore, _ := s.stores.Store(mustLookup(cat, "", "v1", "resourcequotas"))
	limitStore, _ := s.stores.Store(mustLookup(cat, "", "v1", "limitranges"))
	storeOf := func(group, plural string) *registry.Store {
		st, _ := s.stores.Store(mustLookup(cat, group, "v1", plural))
		return st
	}
	s.admission, err = admission.NewChain(cfg.EnableAdmissionPlugins, cfg.DisableAdmissionPlugins, admission.Deps{
		Namespaces: nsStore, ServiceAccounts: saStore, Pods: podStore, Nodes: nodeStore, Authorizer: s.authorizer,
		PodList: podStore, Warn: func(ctx context.Context, msg string) { request.AddWarning(ctx, msg) },
		Quotas: quotaStore, LimitRanges: limitStore,
		PriorityClasses: storeOf("scheduling.k8s.io", "priorityclasses"), StorageClasses: storeOf("storage.k8s.io", "storageclasses"),
		IngressClasses: storeOf("networking.k8s.io", "ingressclasses"), RuntimeClasses: storeOf("node.k8s.io", "runtimeclasses"),
		Dynamic: s.dynamicAdmission(),
	})
	if err != nil {
		return nil, err
	}
	if s.authz.rbac != nil {
		s.admission = append(s.admission, &admission.RBACEscalation{RBAC: s.authz.rbac, Authorizer: s.authorizer})
	}
	s.refreshOpenAPI()
	cat.OnChange(s.refreshOpenAPI)
	return s, nil
}

func mustLookup(cat *apis.Catalogue, g, v, plural string) *apis.Resource {
	r, ok := cat.Lookup(g, v, plural)
	if !ok {
		panic(fmt.Sprintf("catalogue lacks %s/%s %s", g, v, plural))
	}
	return r
}

// encodingBudgetBytes bounds the encoded objects the watch caches keep
// for reads: a few times the encoded size of the objects commonly read.
const encodingBudgetBytes = 32 << 20

// storageFor returns the shared storage of r's etcd prefix; attrs are the
// labels and fields its watch cache indexes.
func (s *server) storageFor(r *apis.Resource, attrs storage.AttrFunc) (storage.Interface, string) {
	prefix := strings.TrimSuffix(s.cfg.EtcdPrefix, "/") + "/" + r.EtcdPrefix
	s.storageMu.Lock()
	defer s.storageMu.Unlock()
	if st, ok := s.storages[prefix]; ok {
		return st, prefix
	}
	opts := []etcd3.Option{etcd3.WithNewFunc(r.New)}
	if s.encryption != nil {
		opts = append(opts, etcd3.WithTransformer(s.encryption.ForResource(r.Group, r.Plural)))
	}
	direct := etcd3.New(s.etcd, s.ser.StorageCodec(r), storage.APIObjectVersioner{}, opts...)
	if s.encodings == nil {
		s.encodings = storage.NewEncodingBudget(encodingBudgetBytes)
	}
	c, err := cacher.New(cacher.Config{
		Storage:   &instrumented{next: direct, resource: r.EtcdPrefix, hist: s.metrics.etcd},
		Prefix:    prefix,
		NewFunc:   r.New,
		GetAttrs:  attrs,
		Progress:  direct,
		Logger:    s.log,
		Encodings: s.encodings,
		// An old external etcd may notify progress ahead of its events.
		ConsistentReadsFromStorage: s.cfg.etcdProgressUnsafe,
	})
	if err != nil {
		// The configuration is ours: an error here is a programming error.
		panic(fmt.Sprintf("watch cache for %s: %v", prefix, err))
	}
	s.storages[prefix] = c
	return c, prefix
}

// dropStorage stops and forgets the storage of a prefix whose resource
// is no longer served (a deleted CRD).
func (s *server) dropStorage(prefix string) {
	s.storageMu.Lock()
	st, ok := s.storages[prefix]
	delete(s.storages, prefix)
	s.storageMu.Unlock()
	if c, ok2 := st.(*cacher.Cacher); ok && ok2 {
		c.Stop()
	}
}

// storageForCustom returns the storage of a CRD's storage version; every
// served version of the CRD shares it, and its cache indexes the
// selectable fields of all of them.
func (s *server) storageForCustom(storageVersion *apis.Resource, selectable []string) (storage.Interface, string) {
	return s.storageFor(storageVersion, customAttrs(storageVersion.Namespaced, selectable))
}

func (s *server) addStore(r *apis.Resource) error {
	if r.Virtual {
		return nil
	}
	st, prefix := s.storageFor(r, s.sharedAttrs(r))
	s.stores.set(r, &registry.Store{
		Resource: r, Storage: st, Prefix: prefix,
		Admission: admissionRef{s}, Fields: s.fields, Now: time.Now,
	})
	return nil
}

// admissionRef lets stores built before the chain use it.
type admissionRef struct{ s *server }

func (a admissionRef) Admit(ctx context.Context, at *registry.Attributes) error {
	return a.s.admission.Admit(ctx, at)
}

func (a admissionRef) Validate(ctx context.Context, at *registry.Attributes) error {
	return a.s.admission.Validate(ctx, at)
}

// stop ends the watch caches.
func (s *server) stop() {
	s.storageMu.Lock()
	defer s.storageMu.Unlock()
	for p, st := range s.storages {
		if c, ok := st.(*cacher.Cacher); ok {
			c.Stop()
		}
		delete(s.storages, p)
	}
}

// bootstrap creates the namespaces every cluster has.
func (s *server) bootstrap(ctx context.Context) error {
	nsStore, _ := s.stores.Store(mustLookup(s.catalogue, "", "v1", "namespaces"))
	for _, name := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease} {
		if _, err := nsStore.Get(ctx, "", name, "0"); err == nil {
			continue
		}
		ns := nsStore.Resource.New().(*corev1.Namespace)
		ns.Name = name
		_, err := nsStore.Create(ctx, "", ns, registry.WriteOptions{FieldManager: "kastle"})
		switch {
		case apierrors.IsForbidden(err):
			// Admission (e.g. AlwaysDeny) has the last word; serve anyway.
			s.log.Warn("admission refused a system namespace", "namespace", name, "err", err)
		case err != nil && !apierrors.IsAlreadyExists(err):
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
	}
	return nil
}

// refreshOpenAPI publishes the served resources to the OpenAPI service.
func (s *server) refreshOpenAPI() {
	var rs []openapi.Resource
	for _, r := range s.catalogue.Resources() {
		var subs []string
		for _, sr := range r.Subresources {
			subs = append(subs, sr.Name)
		}
		rs = append(rs, openapi.Resource{
			GVK: r.GVK(), ListKind: r.ListKind, Plural: r.Plural, Namespaced: r.Namespaced,
			Verbs: r.Verbs, Subresources: subs, GoType: r.GoType, GoListType: r.GoListType,
			CRDSchema: r.Schema,
		})
	}
	s.openapi.SetResources(rs)
}

// mux routes the non-resource paths and hands the rest to the resource
// handler.
func (s *server) mux() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/version", s.serveVersion)
	m.HandleFunc("/version/", s.serveVersion)
	m.HandleFunc("/healthz", s.health("healthz", false))
	m.HandleFunc("/healthz/", s.health("healthz", false))
	m.HandleFunc("/livez", s.health("livez", false))
	m.HandleFunc("/livez/", s.health("livez", false))
	m.HandleFunc("/readyz", s.health("readyz", true))
	m.HandleFunc("/readyz/", s.health("readyz", true))
	m.Handle("/metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	m.HandleFunc("/openapi/", func(w http.ResponseWriter, r *http.Request) {
		if s.aggregator != nil && s.aggregator.RoutesOpenAPI(r.URL.Path) {
			s.aggregator.ServeOpenAPI(w, r)
			return
		}
		s.openapi.ServeHTTP(w, r)
	})
	m.HandleFunc("/.well-known/openid-configuration", s.serveOIDC)
	m.HandleFunc("/openid/v1/jwks", s.serveOIDC)
	if s.cfg.Profiling {
		// Behind authentication and authorization like everything else.
		m.HandleFunc("/debug/pprof/", pprof.Index)
		m.HandleFunc("/debug/pprof/profile", pprof.Profile)
		m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case s.aggregator != nil && s.aggregator.Routes(p):
			s.aggregator.ServeHTTP(w, r)
		case discovery.Match(p):
			s.discovery.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/apis/"):
			s.resources.ServeHTTP(w, r)
		case p == "/":
			s.serveRootPaths(w)
		default:
			status.Write(w, apierrors.NewNotFound(metav1.SchemeGroupVersion.WithResource("").GroupResource(), r.URL.Path))
		}
	})
	return m
}

func (s *server) serveVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, version.Info{
		Major: kubeMajor, Minor: kubeMinor, GitVersion: kubeGitVersion,
		GitTreeState: "clean", GoVersion: runtime.Version(), Compiler: runtime.Compiler,
		Platform: runtime.GOOS + "/" + runtime.GOARCH, BuildDate: "1970-01-01T00:00:00Z",
	})
}

func (s *server) serveRootPaths(w http.ResponseWriter) {
	paths := []string{"/api", "/api/v1", "/apis", "/healthz", "/livez", "/metrics", "/openapi/v2", "/openapi/v3", "/readyz", "/version"}
	for _, gv := range s.catalogue.GroupVersions() {
		if gv.Group != "" {
			paths = append(paths, "/apis/"+gv.Group, "/apis/"+gv.String())
		}
	}
	if s.aggregator != nil {
		for _, e := range s.aggregator.External() {
			if p := "/apis/" + e.GroupVersion.String(); !slices.Contains(paths, p) {
				paths = append(paths, "/apis/"+e.GroupVersion.Group, p)
			}
		}
		sort.Strings(paths)
		paths = slices.Compact(paths)
	}
	writeJSON(w, metav1.RootPaths{Paths: paths})
}

func writeJSON(w http.ResponseWriter, v interface{}) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status.Write(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// health serves /healthz, /livez and /readyz with kube-apiserver's
// output: "ok", or one [+]/[-] line per check with ?verbose.
func (s *server) health(name string, readiness bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		type check struct {
			name string
			err  error
		}
		checks := []check{{name: "ping"}}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		_, err := s.etcd.Get(ctx, "health-probe", clientv3.WithCountOnly())
		cancel()
		checks = append(checks, check{name: "etcd", err: err})
		if readiness {
			var notReady error
			if !s.ready.Load() {
				notReady = fmt.Errorf("not ready")
			}
			checks = append(checks, check{name: "shutdown", err: notReady})
		}
		sub := strings.Trim(strings.TrimPrefix(r.URL.Path, "/"+name), "/")
		failed := false
		var b strings.Builder
		for _, c := range checks {
			if sub != "" && c.name != sub {
				continue
			}
			if c.err != nil {
				failed = true
				fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c.name)
			} else {
				fmt.Fprintf(&b, "[+]%s ok\n", c.name)
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if failed {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "%s%s check failed\n", b.String(), name)
			return
		}
		if _, verbose := r.URL.Query()["verbose"]; verbose {
			fmt.Fprintf(w, "%s%s check passed\n", b.String(), name)
			return
		}
		fmt.Fprint(w, "ok")
	}
}

// typeConverters picks the structured-merge-diff types of a resource:
// built-ins from client-go's schema of the Kubernetes types (parsed on
// first use: it is large), custom resources and CRDs from the OpenAPI
// schemas served for their group version.
type typeConverters struct {
	scheme  *kruntime.Scheme
	openapi *openapi.Service

	once    sync.Once
	builtin managedfields.TypeConverter
}

func (t *typeConverters) TypeConverter(r *apis.Resource) (managedfields.TypeConverter, error) {
	// client-go's schema lacks the kube-aggregator types (APIService).
	if r.Custom || r.Group == "apiextensions.k8s.io" || r.Group == "apiregistration.k8s.io" {
		if schemas := t.openapi.Schemas(r.GroupVersion()); schemas != nil {
			if tc, err := managedfields.NewTypeConverter(schemas, false); err == nil {
				return tc, nil
			}
		}
		// A schema the converter cannot use still gets field tracking,
		// with lists treated as atomic.
		return managedfields.NewDeducedTypeConverter(), nil
	}
	t.once.Do(func() { t.builtin = applyconfigurations.NewTypeConverter(t.scheme) })
	return t.builtin, nil
}

// serveOIDC serves the service-account issuer's OpenID discovery
// document and its JWKS, so other systems can verify the tokens.
func (s *server) serveOIDC(w http.ResponseWriter, r *http.Request) {
	auth := s.reviews.auth
	if auth == nil {
		status.Write(w, apierrors.NewServiceUnavailable("service-account keys are not loaded yet"))
		return
	}
	var body []byte
	if r.URL.Path == "/openid/v1/jwks" {
		body = saauth.JWKS(auth.saKeys)
		w.Header().Set("Content-Type", "application/jwk-set+json")
	} else {
		body = saDiscovery(s.cfg.ServiceAccountIssuer, auth)
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(body)
}

func saDiscovery(issuer string, auth *authentication) []byte {
	return saauth.OpenIDConfiguration(issuer, strings.TrimSuffix(issuer, "/")+"/openid/v1/jwks", auth.saKeys...)
}

// sharedAttrs indexes, in the watch cache of r's storage, the selectable
// fields of every resource served from it (core and events.k8s.io Events
// share one), so each API's field selectors match.
func (s *server) sharedAttrs(r *apis.Resource) storage.AttrFunc {
	var fns []storage.AttrFunc
	for _, o := range s.catalogue.Resources() {
		if o.EtcdPrefix == r.EtcdPrefix && !o.Custom && o.Fields != nil {
			fns = append(fns, registry.Attrs(o))
		}
	}
	if len(fns) <= 1 {
		return registry.Attrs(r)
	}
	return func(obj kruntime.Object) (labels.Set, fields.Set, error) {
		var ls labels.Set
		fs := fields.Set{}
		for _, f := range fns {
			l, f2, err := f(obj)
			if err != nil {
				return nil, nil, err
			}
			ls = l
			for k, v := range f2 {
				fs[k] = v
			}
		}
		return ls, fs, nil
	}
}

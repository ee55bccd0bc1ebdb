package endpoints

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/apiserver/status"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/storage"
)

// MaxBodyBytes is the largest request body accepted (kube-apiserver's
// limit): larger bodies get 413.
const MaxBodyBytes = 3 << 20

// Stores finds the registry store of a served resource.
type Stores interface {
	Store(r *apis.Resource) (*registry.Store, bool)
}

// Handler serves resource requests. All fields are required.
type Handler struct {
	Catalogue *apis.Catalogue
	Stores    Stores
	Ser       *apis.Serializers
	Log       *slog.Logger
	// Done ends every watch when the server shuts down.
	Done <-chan struct{}
	// MinRequestTimeout bounds watches that give no timeoutSeconds: each
	// lasts a random time between one and two times this.
	MinRequestTimeout time.Duration
	// Watches counts open watches.
	Watches WatchCounter
	// Reviews answers the create-only review resources.
	Reviews Reviewer
	// Proxy serves <resource>/<name>/proxy/... (nodes/proxy); nil answers
	// 404.
	Proxy Proxier
	// Reads answers get and list of the read-only resources the server
	// computes (componentstatuses); nil answers 404.
	Reads VirtualReader

	encodedOnce sync.Once
	encoded     *encodeCache
}

// Reviewer answers a review (SelfSubjectReview, SubjectAccessReview,
// TokenReview, …): it fills in and returns the status of obj.
type Reviewer interface {
	// Review answers obj. For a subresource create (serviceaccounts/x/token)
	// r is the parent resource and name its object.
	Review(ctx context.Context, r *apis.Resource, namespace, name string, obj runtime.Object) (runtime.Object, error)
}

// Proxier serves proxy subresources: it forwards the request to the
// object's endpoint (a node's kubelet API).
type Proxier interface {
	ServeProxy(w http.ResponseWriter, r *http.Request, res *apis.Resource, info *request.Info)
}

// WatchCounter counts open watch streams.
type WatchCounter interface {
	WatchStarted()
	WatchEnded()
}

// ServeHTTP dispatches a resource request by verb.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Admission (webhooks, policies) may warn the client.
	r = r.WithContext(request.WithWarnings(r.Context(), w.Header()))
	info, ok := request.InfoFrom(r.Context())
	if !ok || !info.IsResourceRequest {
		status.Write(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
		return
	}
	res, ok := h.Catalogue.Lookup(info.APIGroup, info.APIVersion, info.Resource)
	if !ok {
		status.Write(w, notFoundPath())
		return
	}
	ns := info.Namespace
	if !res.Namespaced {
		if ns != "" && res.Plural != "namespaces" {
			status.Write(w, notFoundPath())
			return
		}
		ns = ""
	}
	if info.Subresource != "" && res.Subresource(info.Subresource) == nil {
		status.Write(w, notFoundPath())
		return
	}
	if sub := res.Subresource(info.Subresource); sub != nil && info.Subresource != "proxy" && !slices.Contains(sub.Verbs, info.Verb) {
		status.Write(w, apierrors.NewMethodNotSupported(res.GroupResource(), info.Verb))
		return
	}
	if info.Subresource == "proxy" {
		if h.Proxy == nil {
			status.Write(w, notFoundPath())
			return
		}
		h.Proxy.ServeProxy(w, r, res, info)
		return
	}
	if res.Virtual && info.Verb != "create" {
		if err := h.readVirtual(w, r, info, res); err != nil {
			status.Write(w, err)
		}
		return
	}
	if res.Virtual || (info.Verb == "create" && info.Subresource != "" && res.Subresource(info.Subresource) != nil) {
		if err := h.review(w, r, info, res, ns); err != nil {
			status.Write(w, err)
		}
		return
	}
	store, ok := h.Stores.Store(res)
	if !ok {
		status.Write(w, apierrors.NewServiceUnavailable(fmt.Sprintf("%s is not ready", res)))
		return
	}
	h.encodedOnce.Do(func() { h.encoded = newEncodeCache(1024) })
	rq := &req{h: h, w: w, r: r, info: info, res: res, store: store, ns: ns}
	if err := rq.serve(); err != nil {
		status.Write(w, err)
	}
}

// serve runs the verb. An error is written as a Status by the caller, so
// a handler returns it only before it has written anything.
func (q *req) serve() error {
	info, res := q.info, q.res
	if res.Namespaced && q.ns == "" && info.Verb != "list" && info.Verb != "watch" {
		return apierrors.NewBadRequest("the namespace of the object is required")
	}
	switch info.Verb {
	case "get":
		return q.get()
	case "list":
		return q.list()
	case "watch":
		return q.watch()
	case "create":
		if info.Name != "" {
			return apierrors.NewMethodNotSupported(res.GroupResource(), "create")
		}
		return q.create()
	case "update":
		if info.Name == "" {
			return apierrors.NewMethodNotSupported(res.GroupResource(), "PUT")
		}
		return q.update()
	case "patch":
		if info.Name == "" {
			return apierrors.NewMethodNotSupported(res.GroupResource(), "PATCH")
		}
		return q.patch()
	case "delete":
		return q.delete()
	case "deletecollection":
		return q.deleteCollection()
	}
	return apierrors.NewMethodNotSupported(res.GroupResource(), info.Verb)
}

var errModified = fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again")

func notFoundPath() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound,
		Message: "the server could not find the requested resource",
		Details: &metav1.StatusDetails{},
	}}
}

// req is one resource request in flight.
type req struct {
	h     *Handler
	w     http.ResponseWriter
	r     *http.Request
	info  *request.Info
	res   *apis.Resource
	store *registry.Store
	ns    string
	// warnings go to the Warning header.
	warnings []string
}

func (q *req) ctx() context.Context { return q.r.Context() }

func (q *req) get() error {
	var opts metav1.GetOptions
	if err := q.decodeQuery(q.r.URL.Query(), &opts); err != nil {
		return err
	}
	obj, err := q.store.Get(q.ctx(), q.ns, q.info.Name, opts.ResourceVersion)
	if err != nil {
		return err
	}
	if q.info.Subresource == "scale" {
		return q.writeScale(http.StatusOK, obj)
	}
	out, err := q.output(false)
	if err != nil {
		return err
	}
	enc := q.store.Encodings(q.ns, q.info.Name, obj)
	if out.As == "Table" {
		t, err := q.tableOf([]runtime.Object{obj}, []*storage.Encodings{enc}, false, metav1.ListMeta{ResourceVersion: resourceVersionOf(obj)})
		if err != nil {
			return err
		}
		return q.encode(http.StatusOK, t, out)
	}
	// An unchanged object is served from the encodings the watch cache
	// keeps for it.
	body, ok, err := q.objectBody(obj, enc, out)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if ok {
		q.writeBody(http.StatusOK, out.Media, body)
		return nil
	}
	return q.writeAs(http.StatusOK, obj, false, out)
}

func (q *req) list() error {
	var opts metav1.ListOptions
	if err := q.decodeQuery(q.r.URL.Query(), &opts); err != nil {
		return err
	}
	page, err := q.store.ListPage(q.ctx(), q.ns, &opts)
	if err != nil {
		return err
	}
	out, err := q.output(true)
	if err != nil {
		return err
	}
	if out.As == "Table" && !q.res.Custom {
		t, err := q.tableOf(page.Items, page.Encodings, true, page.ListMeta())
		if err != nil {
			return err
		}
		return q.encode(http.StatusOK, t, out)
	}
	// The items' encodings the watch cache keeps are written as they are
	// instead of encoding every item again.
	body, ok, err := q.listBody(page, out)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if ok {
		// A filtered list's items have other neighbours than the full
		// list's: their compressed forms are not kept.
		body.keep = opts.LabelSelector == "" && opts.FieldSelector == ""
		q.writeChunks(http.StatusOK, out.Media, body)
		return nil
	}
	list, err := page.Assemble(q.res)
	if err != nil {
		return err
	}
	return q.writeAs(http.StatusOK, list, true, out)
}

func (q *req) create() error {
	var opts metav1.CreateOptions
	if err := q.decodeQuery(q.r.URL.Query(), &opts); err != nil {
		return err
	}
	wo, err := q.writeOptions(opts.DryRun, opts.FieldManager, opts.FieldValidation)
	if err != nil {
		return err
	}
	obj, err := q.decodeBody(q.res.GVK(), opts.FieldValidation)
	if err != nil {
		return err
	}
	out, err := q.store.Create(q.ctx(), q.ns, obj, wo)
	if err != nil {
		return err
	}
	return q.write(http.StatusCreated, out, false)
}

func (q *req) update() error {
	var opts metav1.UpdateOptions
	if err := q.decodeQuery(q.r.URL.Query(), &opts); err != nil {
		return err
	}
	wo, err := q.writeOptions(opts.DryRun, opts.FieldManager, opts.FieldValidation)
	if err != nil {
		return err
	}
	if q.info.Subresource == "scale" {
		return q.updateScale(wo, opts.FieldValidation)
	}
	obj, err := q.decodeBody(q.res.GVK(), opts.FieldValidation)
	if err != nil {
		return err
	}
	out, err := q.store.Update(q.ctx(), q.ns, q.info.Name, func(runtime.Object) (runtime.Object, error) {
		return obj.DeepCopyObject(), nil
	}, wo)
	if err != nil {
		return err
	}
	return q.write(http.StatusOK, out, false)
}

func (q *req) delete() error {
	var opts metav1.DeleteOptions
	if err := q.decodeQuery(q.r.URL.Query(), &opts); err != nil {
		return err
	}
	if err := q.decodeDeleteOptions(&opts); err != nil {
		return err
	}
	dryRun, err := checkDryRun(opts.DryRun)
	if err != nil {
		return err
	}
	res, err := q.store.Delete(q.ctx(), q.ns, q.info.Name, &opts, dryRun)
	if err != nil {
		return err
	}
	if res.Immediate && !q.res.Custom && q.res.Plural != "namespaces" {
		st := &metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   metav1.StatusSuccess,
			Details:  &metav1.StatusDetails{Name: q.info.Name, Group: q.res.Group, Kind: q.res.Plural, UID: uidOf(res.Object)},
		}
		return q.writeStatusObject(st)
	}
	return q.write(http.StatusOK, res.Object, false)
}

func (q *req) deleteCollection() error {
	var lo metav1.ListOptions
	if err := q.decodeQuery(q.r.URL.Query(), &lo); err != nil {
		return err
	}
	var opts metav1.DeleteOptions
	if err := q.decodeQuery(q.r.URL.Query(), &opts); err != nil {
		return err
	}
	if err := q.decodeDeleteOptions(&opts); err != nil {
		return err
	}
	dryRun, err := checkDryRun(opts.DryRun)
	if err != nil {
		return err
	}
	list, err := q.store.DeleteCollection(q.ctx(), q.ns, &lo, &opts, dryRun)
	if err != nil {
		return err
	}
	return q.write(http.StatusOK, list, true)
}

// writeOptions checks the common write parameters.
func (q *req) writeOptions(dryRun []string, manager, validation string) (registry.WriteOptions, error) {
	dr, err := checkDryRun(dryRun)
	if err != nil {
		return registry.WriteOptions{}, err
	}
	switch validation {
	case "", metav1.FieldValidationIgnore, metav1.FieldValidationWarn, metav1.FieldValidationStrict:
	default:
		return registry.WriteOptions{}, apierrors.NewBadRequest(fmt.Sprintf("fieldValidation must be one of Ignore, Warn or Strict, got %q", validation))
	}
	if manager == "" {
		manager = managerFromUserAgent(q.r.UserAgent())
	}
	if len(manager) > 128 {
		return registry.WriteOptions{}, invalidParam("fieldManager", manager, "must be no more than 128 characters")
	}
	for _, c := range manager {
		if c < 0x20 || c > 0x7e {
			return registry.WriteOptions{}, invalidParam("fieldManager", manager, "must only contain printable characters")
		}
	}
	return registry.WriteOptions{DryRun: dr, FieldManager: manager, Subresource: q.info.Subresource}, nil
}

func invalidParam(name, value, msg string) error {
	return apierrors.NewBadRequest(field.Invalid(field.NewPath(name), value, msg).Error())
}

// managerFromUserAgent names the field manager of clients that set none:
// the product part of the User-Agent, as kube-apiserver does.
func managerFromUserAgent(ua string) string {
	if i := strings.IndexByte(ua, '/'); i >= 0 {
		ua = ua[:i]
	}
	if len(ua) > 128 {
		ua = ua[:128]
	}
	return ua
}

func checkDryRun(values []string) (bool, error) {
	for _, v := range values {
		if v != metav1.DryRunAll {
			return false, invalidParam("dryRun", v, "valid values are [All]")
		}
	}
	return len(values) > 0, nil
}

// decodeQuery reads metav1 options from the query string.
func (q *req) decodeQuery(v url.Values, into runtime.Object) error {
	if err := q.h.Ser.Params.DecodeParameters(v, schema.GroupVersion{Version: "v1"}, into); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid query parameters: %v", err))
	}
	return nil
}

func uidOf(obj runtime.Object) types.UID {
	if m, ok := obj.(metav1.Object); ok {
		return m.GetUID()
	}
	return ""
}

// review serves a create-only review resource: decode, answer, 201.
func (h *Handler) review(w http.ResponseWriter, r *http.Request, info *request.Info, res *apis.Resource, ns string) error {
	want := res.GVK()
	if res.Virtual {
		if info.Verb != "create" || info.Name != "" || info.Subresource != "" {
			return apierrors.NewMethodNotSupported(res.GroupResource(), info.Verb)
		}
	} else {
		// A create-only subresource (serviceaccounts/<name>/token).
		sub := res.Subresource(info.Subresource)
		if info.Name == "" || sub.Kind.Empty() || !hasVerb(sub.Verbs, "create") {
			return apierrors.NewMethodNotSupported(res.GroupResource(), info.Verb)
		}
		want = sub.Kind
	}
	if res.Namespaced && ns == "" {
		return apierrors.NewBadRequest("the namespace of the object is required")
	}
	q := &req{h: h, w: w, r: r, info: info, res: res, ns: ns}
	var opts metav1.CreateOptions
	if err := q.decodeQuery(r.URL.Query(), &opts); err != nil {
		return err
	}
	obj, err := q.decodeBody(want, opts.FieldValidation)
	if err != nil {
		return err
	}
	out, err := h.Reviews.Review(r.Context(), res, ns, info.Name, obj)
	if err != nil {
		return err
	}
	if st, ok := out.(*metav1.Status); ok {
		// Bindings and evictions answer with a Status, as upstream does.
		st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		return q.write(int(st.Code), st, false)
	}
	out.GetObjectKind().SetGroupVersionKind(want)
	return q.write(http.StatusCreated, out, false)
}

func hasVerb(verbs []string, v string) bool {
	for _, x := range verbs {
		if x == v {
			return true
		}
	}
	return false
}

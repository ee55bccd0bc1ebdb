package registry

import (
	"context"
	"fmt"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/storage"
)

// Operation names the kind of write admission sees.
type Operation string

// The write operations.
const (
	Create Operation = "CREATE"
	Update Operation = "UPDATE"
	Delete Operation = "DELETE"
)

// Attributes describe one write for admission.
type Attributes struct {
	Operation   Operation
	Resource    *apis.Resource
	Subresource string
	Namespace   string
	Name        string
	Object      runtime.Object // nil on delete
	OldObject   runtime.Object // nil on create
	DryRun      bool
}

// Admission is the admission chain as the store consumes it: Admit may
// mutate the object, Validate may only reject. Both return API status
// errors.
type Admission interface {
	Admit(ctx context.Context, a *Attributes) error
	Validate(ctx context.Context, a *Attributes) error
}

// WriteOptions are the per-request options of create, update and patch.
type WriteOptions struct {
	DryRun       bool
	FieldManager string
	Subresource  string
	// Applied marks a server-side apply: the field manager already
	// recorded ownership, so the write must not record an update too.
	Applied bool
}

// UpdateFunc computes the requested object from the current one (a
// private copy). It is called again when a concurrent write intervenes.
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// Store is the generic registry of one served resource version.
// All fields but Hooks are required.
type Store struct {
	Resource  *apis.Resource
	Storage   storage.Interface
	Prefix    string // etcd key prefix of the resource, no trailing slash
	Admission Admission
	Fields    *FieldManagers
	Now       func() time.Time
	// Hooks, when set, claim and release what objects hold outside
	// storage (Services: cluster IPs and node ports).
	Hooks WriteHooks
}

// Key returns the etcd key of an object.
func (s *Store) Key(ns, name string) string {
	if s.Resource.Namespaced {
		return s.Prefix + "/" + ns + "/" + name
	}
	return s.Prefix + "/" + name
}

func (s *Store) listPrefix(ns string) string {
	if s.Resource.Namespaced && ns != "" {
		return s.Prefix + "/" + ns + "/"
	}
	return s.Prefix + "/"
}

// Get reads one object. resourceVersion follows the API: "" is the latest.
func (s *Store) Get(ctx context.Context, ns, name, resourceVersion string) (runtime.Object, error) {
	obj, err := s.Storage.Get(ctx, s.Key(ns, name), storage.GetOptions{ResourceVersion: resourceVersion})
	if err != nil {
		return nil, toAPIError(err, s.Resource, name)
	}
	return s.out(obj)
}

// out adapts a stored object to the served version: FromStorage converts
// it (built-in kinds at several versions, CRD conversion webhooks), other
// custom resources get this version's apiVersion; then the CRD's defaults
// apply to the copy. A failed conversion is a 500, never an object in the
// wrong version.
func (s *Store) out(obj runtime.Object) (runtime.Object, error) {
	r := s.Resource
	var out runtime.Object
	switch {
	case r.FromStorage != nil:
		c, err := r.FromStorage(obj)
		if err != nil {
			return nil, conversionError(err)
		}
		out = c
	case r.Custom:
		u, ok := obj.(*unstructured.Unstructured)
		if !ok || (u.GetAPIVersion() == r.APIVersion() && !r.DefaultReads) {
			return obj, nil
		}
		c := u.DeepCopy()
		c.SetAPIVersion(r.APIVersion())
		out = c
	default:
		return obj, nil
	}
	s.defaultRead(obj, out)
	return out, nil
}

// defaultRead applies the defaults a CRD gained after objects were stored
// to out, the served copy of stored; never to the cached object itself.
func (s *Store) defaultRead(stored, out runtime.Object) {
	if r := s.Resource; r.DefaultReads && r.Default != nil && out != stored {
		r.Default(out)
	}
}

// outList is out for a page of stored objects, in a new slice: with
// FromStorageList the page converts in one call (one ConversionReview).
func (s *Store) outList(stored []runtime.Object) ([]runtime.Object, error) {
	if s.Resource.FromStorageList == nil || len(stored) == 0 {
		items := make([]runtime.Object, len(stored))
		for i, it := range stored {
			o, err := s.out(it)
			if err != nil {
				return nil, err
			}
			items[i] = o
		}
		return items, nil
	}
	items, err := s.Resource.FromStorageList(stored)
	if err != nil {
		return nil, conversionError(err)
	}
	if len(items) != len(stored) {
		return nil, conversionError(fmt.Errorf("converted %d objects, expected %d", len(items), len(stored)))
	}
	for i := range items {
		s.defaultRead(stored[i], items[i])
	}
	return items, nil
}

// Create stores a new object in namespace ns.
func (s *Store) Create(ctx context.Context, ns string, obj runtime.Object, opts WriteOptions) (runtime.Object, error) {
	r := s.Resource
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if err := s.checkNamespace(acc, ns); err != nil {
		return nil, err
	}
	if acc.GetName() == "" && acc.GetGenerateName() != "" {
		acc.SetName(generateName(acc.GetGenerateName()))
	}
	name := acc.GetName()
	if name == "" {
		return nil, invalid(r, "", field.ErrorList{field.Required(field.NewPath("metadata", "name"), "name or generateName is required")})
	}
	// System metadata is the server's, whatever the client sent.
	acc.SetUID(uuid.NewUUID())
	acc.SetCreationTimestamp(metav1.NewTime(s.Now().Truncate(time.Second)))
	acc.SetDeletionTimestamp(nil)
	acc.SetDeletionGracePeriodSeconds(nil)
	acc.SetResourceVersion("")
	acc.SetSelfLink("")
	if r.GenerationOnSpecChange || r.Custom {
		acc.SetGeneration(1)
	} else {
		acc.SetGeneration(0)
	}
	if r.StatusField != "" && r.Kind != "Node" {
		clearStatus(obj, r)
	}
	if r.PrepareForCreate != nil {
		u, _ := request.UserFrom(ctx)
		r.PrepareForCreate(obj, u)
	}
	if r.Default != nil {
		r.Default(obj)
	}
	attrs := &Attributes{Operation: Create, Resource: r, Namespace: ns, Name: name, Object: obj, DryRun: opts.DryRun}
	if err := s.Admission.Admit(ctx, attrs); err != nil {
		return nil, err
	}
	finish := Finish(noFinish)
	if s.Hooks != nil {
		f, err := s.Hooks.BeforeCreate(ctx, obj, opts.DryRun)
		if err != nil {
			return nil, err
		}
		finish = finishOnce(f)
	}
	created := false
	defer func() { finish(created) }()
	if r.Custom {
		// Built-in kinds check their metadata with their own name rules.
		if errs := validateObjectMeta(acc, r); len(errs) > 0 {
			return nil, invalid(r, name, errs)
		}
	}
	if r.Validate != nil {
		if errs := r.Validate(obj); len(errs) > 0 {
			return nil, invalid(r, name, errs)
		}
	}
	if err := s.Admission.Validate(ctx, attrs); err != nil {
		return nil, err
	}
	if !opts.Applied {
		obj, err = s.Fields.Update(r, "", r.New(), obj, opts.FieldManager)
		if err != nil {
			return nil, err
		}
	}
	if opts.DryRun {
		return obj, nil
	}
	stored, err := s.toStorage(obj)
	if err != nil {
		return nil, err
	}
	out, err := s.Storage.Create(ctx, s.Key(ns, name), stored)
	if err != nil {
		return nil, toAPIError(err, r, name)
	}
	created = true
	return s.out(out)
}

// checkNamespace fills an empty namespace from the URL and rejects a
// mismatch, as kube-apiserver does.
func (s *Store) checkNamespace(acc metav1.Object, ns string) error {
	if !s.Resource.Namespaced {
		if acc.GetNamespace() != "" {
			acc.SetNamespace("")
		}
		return nil
	}
	switch {
	case acc.GetNamespace() == "":
		acc.SetNamespace(ns)
	case acc.GetNamespace() != ns:
		return apierrors.NewBadRequest(fmt.Sprintf("the namespace of the provided object (%s) does not match the namespace sent on the request (%s)", acc.GetNamespace(), ns))
	}
	return nil
}

// Update replaces an object through update (PUT) or patch semantics; fn
// receives the current object and returns the desired one.
func (s *Store) Update(ctx context.Context, ns, name string, fn UpdateFunc, opts WriteOptions) (runtime.Object, error) {
	r := s.Resource
	var deleteNow bool
	// finish belongs to the latest attempt; a retried attempt gives back
	// what the previous one claimed.
	finish := Finish(noFinish)
	try := func(cur runtime.Object) (runtime.Object, error) {
		finish(false)
		finish = noFinish
		cur, err := s.out(cur)
		if err != nil {
			return nil, err
		}
		newObj, err := fn(cur.DeepCopyObject())
		if err != nil {
			return nil, err
		}
		newObj, f, err := s.prepareUpdate(ctx, ns, name, newObj, cur, opts)
		if err != nil {
			return nil, err
		}
		finish = f
		acc, _ := meta.Accessor(newObj)
		deleteNow = acc.GetDeletionTimestamp() != nil && len(acc.GetFinalizers()) == 0 && !namespaceKeeps(newObj)
		return s.toStorage(newObj)
	}
	if opts.DryRun {
		cur, err := s.Storage.Get(ctx, s.Key(ns, name), storage.GetOptions{})
		if err != nil {
			return nil, toAPIError(err, r, name)
		}
		out, err := try(cur.DeepCopyObject())
		finish(false)
		if err != nil {
			return nil, err
		}
		return s.out(out)
	}
	out, err := s.Storage.GuaranteedUpdate(ctx, s.Key(ns, name), nil, try)
	finish(err == nil)
	if err != nil {
		return nil, toAPIError(err, r, name)
	}
	if deleteNow {
		// The last finalizer is gone from an object being deleted: finish
		// the deletion now, as kube-apiserver does.
		acc, _ := meta.Accessor(out)
		uid, rv := string(acc.GetUID()), acc.GetResourceVersion()
		gone, err := s.Storage.Delete(ctx, s.Key(ns, name), &storage.Preconditions{UID: &uid, ResourceVersion: &rv}, nil)
		if err != nil && !storage.IsNotFound(err) && !storage.IsConflict(err) {
			return nil, toAPIError(err, r, name)
		}
		if err == nil && s.Hooks != nil {
			s.Hooks.Deleted(ctx, gone)
		}
	}
	return s.out(out)
}

// prepareUpdate turns a client's desired object into the object to store:
// it enforces optimistic concurrency, keeps system metadata, splits
// status from the rest, bumps generation, then defaults, admits and
// validates. The returned Finish completes the hooks' claims (never nil
// when err is nil).
func (s *Store) prepareUpdate(ctx context.Context, ns, name string, obj, cur runtime.Object, opts WriteOptions) (_ runtime.Object, _ Finish, err error) {
	r := s.Resource
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, apierrors.NewBadRequest(err.Error())
	}
	curAcc, _ := meta.Accessor(cur)
	if rv := acc.GetResourceVersion(); rv != "" && rv != curAcc.GetResourceVersion() {
		return nil, nil, conflictModified(r, name)
	}
	if acc.GetName() == "" {
		acc.SetName(name)
	}
	if acc.GetName() != name {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", acc.GetName(), name))
	}
	if err := s.checkNamespace(acc, ns); err != nil {
		return nil, nil, err
	}
	if uid := acc.GetUID(); uid != "" && uid != curAcc.GetUID() {
		return nil, nil, apierrors.NewConflict(r.GroupResource(), name, fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", uid, curAcc.GetUID()))
	}
	obj.GetObjectKind().SetGroupVersionKind(r.GVK())
	// System metadata stays as stored.
	acc.SetUID(curAcc.GetUID())
	acc.SetCreationTimestamp(curAcc.GetCreationTimestamp())
	acc.SetDeletionTimestamp(curAcc.GetDeletionTimestamp())
	acc.SetDeletionGracePeriodSeconds(curAcc.GetDeletionGracePeriodSeconds())
	acc.SetGeneration(curAcc.GetGeneration())
	acc.SetResourceVersion(curAcc.GetResourceVersion())
	acc.SetSelfLink("")

	switch opts.Subresource {
	case "":
		if r.StatusField != "" {
			copyStatus(obj, cur, r)
		}
	case "status":
		obj = withStatusOf(cur, obj, r)
	case "approval":
		obj = withConditionsOf(cur, obj)
	case "finalize":
		obj = withFinalizersOf(cur, obj)
	case "ephemeralcontainers":
		if obj, err = withEphemeralContainersOf(cur, obj, r, name); err != nil {
			return nil, nil, err
		}
	}
	if r.PrepareForUpdate != nil {
		r.PrepareForUpdate(obj, cur, opts.Subresource)
	}
	acc, _ = meta.Accessor(obj)
	if curAcc.GetDeletionTimestamp() != nil && addsFinalizer(acc.GetFinalizers(), curAcc.GetFinalizers()) {
		return nil, nil, invalid(r, name, field.ErrorList{field.Forbidden(field.NewPath("metadata", "finalizers"), "no new finalizers can be added if the object is being deleted")})
	}
	if (r.GenerationOnSpecChange || r.Custom) && specChanged(obj, cur, r) {
		acc.SetGeneration(curAcc.GetGeneration() + 1)
	}
	if r.Default != nil {
		r.Default(obj)
	}
	attrs := &Attributes{Operation: Update, Resource: r, Subresource: opts.Subresource, Namespace: ns, Name: name, Object: obj, OldObject: cur, DryRun: opts.DryRun}
	if err := s.Admission.Admit(ctx, attrs); err != nil {
		return nil, nil, err
	}
	finish := Finish(noFinish)
	if s.Hooks != nil && opts.Subresource == "" {
		f, err := s.Hooks.BeforeUpdate(ctx, obj, cur, opts.DryRun)
		if err != nil {
			return nil, nil, err
		}
		finish = finishOnce(f)
	}
	// A failure from here on gives back what the hooks claimed.
	defer func() {
		if err != nil {
			finish(false)
		}
	}()
	var errs field.ErrorList
	if r.Custom {
		errs = validateObjectMetaUpdate(acc, curAcc, r)
	}
	switch opts.Subresource {
	case "", "finalize":
		if r.ValidateUpdate != nil {
			errs = append(errs, r.ValidateUpdate(obj, cur)...)
		}
	default:
		if r.ValidateStatusUpdate != nil {
			errs = append(errs, r.ValidateStatusUpdate(obj, cur)...)
		}
	}
	if len(errs) > 0 {
		return nil, nil, invalid(r, name, errs)
	}
	if err := s.Admission.Validate(ctx, attrs); err != nil {
		return nil, nil, err
	}
	if opts.Applied {
		return obj, finish, nil
	}
	out, err := s.Fields.Update(r, opts.Subresource, cur, obj, opts.FieldManager)
	if err != nil {
		return nil, nil, err
	}
	return out, finish, nil
}

func addsFinalizer(now, before []string) bool {
	have := map[string]bool{}
	for _, f := range before {
		have[f] = true
	}
	for _, f := range now {
		if !have[f] {
			return true
		}
	}
	return false
}

// DeleteResult says how a delete ended.
type DeleteResult struct {
	// Object is the deleted object, or the object now being deleted.
	Object runtime.Object
	// Immediate is true when the object is gone from storage.
	Immediate bool
}

// Delete removes an object, or marks it for deletion while finalizers
// remain.
func (s *Store) Delete(ctx context.Context, ns, name string, opts *metav1.DeleteOptions, dryRun bool) (*DeleteResult, error) {
	r := s.Resource
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	policy, ferr := propagationPolicy(opts)
	if ferr != nil {
		return nil, invalid(r, name, field.ErrorList{ferr})
	}
	key := s.Key(ns, name)
	var pre *storage.Preconditions
	if opts.Preconditions != nil {
		pre = &storage.Preconditions{}
		if opts.Preconditions.UID != nil {
			u := string(*opts.Preconditions.UID)
			pre.UID = &u
		}
		pre.ResourceVersion = opts.Preconditions.ResourceVersion
	}
	cur, err := s.Storage.Get(ctx, key, storage.GetOptions{})
	if err != nil {
		return nil, toAPIError(err, r, name)
	}
	if err := s.Admission.Validate(ctx, &Attributes{Operation: Delete, Resource: r, Namespace: ns, Name: name, OldObject: cur, DryRun: dryRun}); err != nil {
		return nil, err
	}
	// Foreground and Orphan deletions wait for the garbage collector,
	// which the finalizer named after the policy tells what to do.
	gcFinalizer := ""
	switch policy {
	case metav1.DeletePropagationForeground:
		gcFinalizer = metav1.FinalizerDeleteDependents
	case metav1.DeletePropagationOrphan:
		gcFinalizer = metav1.FinalizerOrphanDependents
	}
	if keepsForFinalizers(cur) || gcFinalizer != "" {
		if dryRun {
			return s.deleteResult(cur, false)
		}
		out, err := s.Storage.GuaranteedUpdate(ctx, key, pre, func(c runtime.Object) (runtime.Object, error) {
			acc, _ := meta.Accessor(c)
			if gcFinalizer != "" && acc.GetDeletionTimestamp() == nil {
				acc.SetFinalizers(append(acc.GetFinalizers(), gcFinalizer))
			}
			if acc.GetDeletionTimestamp() == nil {
				now := metav1.NewTime(s.Now().Truncate(time.Second))
				acc.SetDeletionTimestamp(&now)
				zero := int64(0)
				acc.SetDeletionGracePeriodSeconds(&zero)
			}
			markTerminating(c)
			return c, nil
		})
		if err != nil {
			return nil, toAPIError(err, r, name)
		}
		if keepsForFinalizers(out) {
			return s.deleteResult(out, false)
		}
	}
	if dryRun {
		return s.deleteResult(cur, true)
	}
	out, err := s.Storage.Delete(ctx, key, pre, func(c runtime.Object) error {
		if keepsForFinalizers(c) {
			return storage.NewError(storage.ErrCodeConflict, key, "finalizers were added concurrently")
		}
		return nil
	})
	if err != nil {
		return nil, toAPIError(err, r, name)
	}
	if s.Hooks != nil {
		s.Hooks.Deleted(ctx, out)
	}
	return s.deleteResult(out, true)
}

// deleteResult is the answer of a delete: obj in the served version.
func (s *Store) deleteResult(obj runtime.Object, immediate bool) (*DeleteResult, error) {
	out, err := s.out(obj)
	if err != nil {
		return nil, err
	}
	return &DeleteResult{Object: out, Immediate: immediate}, nil
}

// propagationPolicy resolves the policy of a delete: propagationPolicy,
// else the deprecated orphanDependents, else Background.
func propagationPolicy(opts *metav1.DeleteOptions) (metav1.DeletionPropagation, *field.Error) {
	if opts.PropagationPolicy != nil && opts.OrphanDependents != nil {
		return "", field.Invalid(field.NewPath("propagationPolicy"), *opts.PropagationPolicy, "orphanDependents and propagationPolicy cannot both be set")
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
			return *p, nil
		}
		return "", field.NotSupported(field.NewPath("propagationPolicy"), *p, []string{"Foreground", "Background", "Orphan"})
	}
	if opts.OrphanDependents != nil && *opts.OrphanDependents {
		return metav1.DeletePropagationOrphan, nil
	}
	return metav1.DeletePropagationBackground, nil
}

// keepsForFinalizers reports whether deleting obj must wait: it has
// finalizers, or it is a namespace whose content is still being removed.
func keepsForFinalizers(obj runtime.Object) bool {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return false
	}
	return len(acc.GetFinalizers()) > 0 || namespaceKeeps(obj)
}

// List reads a page of objects in namespace ns ("" for all).
func (s *Store) List(ctx context.Context, ns string, opts *metav1.ListOptions) (runtime.Object, error) {
	p, err := s.ListPage(ctx, ns, opts)
	if err != nil {
		return nil, err
	}
	return p.Assemble(s.Resource)
}

// ListPage reads one page of objects in namespace ns ("" for all) as List
// does, without assembling the list object.
func (s *Store) ListPage(ctx context.Context, ns string, opts *metav1.ListOptions) (*Page, error) {
	pred, nameOnly, err := s.predicate(opts)
	if err != nil {
		return nil, err
	}
	lo := storage.ListOptions{
		ResourceVersion:      opts.ResourceVersion,
		ResourceVersionMatch: storage.ResourceVersionMatch(opts.ResourceVersionMatch),
		Predicate:            pred,
		Limit:                opts.Limit,
		Continue:             opts.Continue,
		Recursive:            true,
	}
	if err := checkListOptions(opts); err != nil {
		return nil, err
	}
	key := s.listPrefix(ns)
	if nameOnly != "" && (ns != "" || !s.Resource.Namespaced) {
		key, lo.Recursive = s.Key(ns, nameOnly), false
	}
	res, err := s.Storage.GetList(ctx, key, lo)
	if err != nil {
		return nil, toAPIError(err, s.Resource, "")
	}
	items, err := s.outList(res.Items)
	if err != nil {
		return nil, err
	}
	p := &Page{
		Items:           items,
		ResourceVersion: fmt.Sprint(res.ResourceVersion), Continue: res.Continue, RemainingItemCount: res.RemainingItemCount,
	}
	if res.Encodings != nil {
		p.Encodings = make([]*storage.Encodings, len(res.Items))
		for i, it := range res.Items {
			if items[i] == it {
				// Only the cached object itself has the cached forms; a
				// converted copy is encoded afresh.
				p.Encodings[i] = res.Encodings[i]
			}
		}
	}
	return p, nil
}

// Page is one page of a list as read, before it becomes the resource's
// list type: the API handlers write cached item encodings from it.
type Page struct {
	// Items are the objects as served; shared with the watch cache, so
	// they must not be modified.
	Items []runtime.Object
	// Encodings has the cached forms of each item (same index; nil
	// elements, or a nil slice, where there are none).
	Encodings          []*storage.Encodings
	ResourceVersion    string
	Continue           string
	RemainingItemCount *int64
}

// ListMeta returns the page's list metadata.
func (p *Page) ListMeta() metav1.ListMeta {
	return metav1.ListMeta{ResourceVersion: p.ResourceVersion, Continue: p.Continue, RemainingItemCount: p.RemainingItemCount}
}

// Assemble builds r's list object of the page. The items are copied into
// it (the cache is untouched).
func (p *Page) Assemble(r *apis.Resource) (runtime.Object, error) {
	list := r.NewList()
	if err := meta.SetList(list, p.Items); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	if !r.Custom {
		// Items of built-in lists carry no apiVersion/kind on the wire, as
		// in kube-apiserver. SetList copied them, so the cache is untouched.
		_ = meta.EachListItem(list, func(o runtime.Object) error {
			o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
			return nil
		})
	}
	la, err := meta.ListAccessor(list)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	la.SetResourceVersion(p.ResourceVersion)
	la.SetContinue(p.Continue)
	la.SetRemainingItemCount(p.RemainingItemCount)
	return list, nil
}

// Encodings returns the cached forms of obj, an object Get returned for
// ns/name, or nil when obj is not the cached object (a converted copy, a
// read from etcd) or the storage keeps none.
func (s *Store) Encodings(ns, name string, obj runtime.Object) *storage.Encodings {
	ec, ok := s.Storage.(storage.EncodingCache)
	if !ok {
		return nil
	}
	return ec.Encodings(s.Key(ns, name), obj)
}

// checkListOptions rejects combinations the API forbids.
func checkListOptions(opts *metav1.ListOptions) error {
	switch opts.ResourceVersionMatch {
	case "", metav1.ResourceVersionMatchNotOlderThan, metav1.ResourceVersionMatchExact:
	default:
		return apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersionMatch %q: must be NotOlderThan or Exact", opts.ResourceVersionMatch))
	}
	if opts.ResourceVersionMatch != "" && opts.ResourceVersion == "" {
		return apierrors.NewBadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
	}
	if opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact && opts.ResourceVersion == "0" {
		return apierrors.NewBadRequest("resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"")
	}
	if opts.Continue != "" && opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
		return apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
	}
	if opts.Limit < 0 {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid limit %d: must not be negative", opts.Limit))
	}
	if opts.ResourceVersion != "" {
		if _, err := parseRV(opts.ResourceVersion); err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q: %v", opts.ResourceVersion, err))
		}
	}
	return nil
}

func parseRV(s string) (int64, error) {
	var n int64
	if s == "" {
		return 0, nil
	}
	for _, c := range s {
		if c < '0' || c > '9' || n > (1<<62)/10 {
			return 0, fmt.Errorf("must be a non-negative integer")
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// Watch streams changes in namespace ns ("" for all).
func (s *Store) Watch(ctx context.Context, ns string, opts *metav1.ListOptions) (storage.Watcher, error) {
	pred, nameOnly, err := s.predicate(opts)
	if err != nil {
		return nil, err
	}
	if opts.ResourceVersion != "" {
		if _, err := parseRV(opts.ResourceVersion); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q: %v", opts.ResourceVersion, err))
		}
	}
	wo := storage.WatchOptions{
		ResourceVersion:   opts.ResourceVersion,
		SendInitialEvents: opts.SendInitialEvents,
		Predicate:         pred,
		Recursive:         true,
		AllowBookmarks:    opts.AllowWatchBookmarks,
	}
	if opts.SendInitialEvents != nil && *opts.SendInitialEvents {
		if opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
			return nil, invalid(s.Resource, "", field.ErrorList{field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")})
		}
		if !opts.AllowWatchBookmarks {
			return nil, invalid(s.Resource, "", field.ErrorList{field.Forbidden(field.NewPath("allowWatchBookmarks"), "sendInitialEvents requires setting allowWatchBookmarks to true")})
		}
	}
	key := s.listPrefix(ns)
	if nameOnly != "" && (ns != "" || !s.Resource.Namespaced) {
		key, wo.Recursive = s.Key(ns, nameOnly), false
	}
	w, err := s.Storage.Watch(ctx, key, wo)
	if err != nil {
		return nil, toAPIError(err, s.Resource, "")
	}
	if s.Resource.FromStorage != nil {
		return newConvertingWatcher(w, s.outEvent), nil
	}
	return w, nil
}

// predicate parses the selectors of a list or watch. nameOnly is the name
// of a metadata.name=X field selector, which narrows the read to one key.
func (s *Store) predicate(opts *metav1.ListOptions) (storage.Predicate, string, error) {
	p := storage.Predicate{GetAttrs: Attrs(s.Resource)}
	if opts.LabelSelector != "" {
		sel, err := labels.Parse(opts.LabelSelector)
		if err != nil {
			return p, "", apierrors.NewBadRequest(fmt.Sprintf("invalid label selector %q: %v", opts.LabelSelector, err))
		}
		p.Label = sel
	}
	var nameOnly string
	if opts.FieldSelector != "" {
		sel, err := fields.ParseSelector(opts.FieldSelector)
		if err != nil {
			return p, "", apierrors.NewBadRequest(fmt.Sprintf("invalid field selector %q: %v", opts.FieldSelector, err))
		}
		allowed := s.selectableFields()
		for _, req := range sel.Requirements() {
			if !allowed[req.Field] {
				return p, "", apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
			}
		}
		if v, ok := sel.RequiresExactMatch("metadata.name"); ok {
			nameOnly = v
		}
		p.Field = sel
	}
	return p, nameOnly, nil
}

func (s *Store) selectableFields() map[string]bool {
	allowed := map[string]bool{"metadata.name": true}
	if s.Resource.Namespaced {
		allowed["metadata.namespace"] = true
	}
	for _, f := range s.Resource.FieldLabels() {
		allowed[f] = true
	}
	return allowed
}

// Attrs returns the labels and selectable fields of r's objects; the
// watch cache indexes with the same function the predicates use.
func Attrs(r *apis.Resource) storage.AttrFunc {
	return func(obj runtime.Object) (labels.Set, fields.Set, error) {
		acc, err := meta.Accessor(obj)
		if err != nil {
			return nil, nil, err
		}
		fs := fields.Set{"metadata.name": acc.GetName()}
		if r.Namespaced {
			fs["metadata.namespace"] = acc.GetNamespace()
		}
		if r.Fields != nil {
			for k, v := range r.Fields(obj) {
				fs[k] = v
			}
		}
		return labels.Set(acc.GetLabels()), fs, nil
	}
}

// generateName appends five random characters, as kube-apiserver does.
func generateName(base string) string {
	const maxName, randLen = 63, 5
	if len(base) > maxName-randLen {
		base = base[:maxName-randLen]
	}
	return base + utilrand.String(randLen)
}

// specChanged reports whether anything but metadata and status changed.
func specChanged(obj, old runtime.Object, r *apis.Resource) bool {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		o, _ := old.(*unstructured.Unstructured)
		if o == nil {
			return true
		}
		for k, v := range u.Object {
			if skipTopLevel(k, r) {
				continue
			}
			if !apiequality.Semantic.DeepEqual(v, o.Object[k]) {
				return true
			}
		}
		for k := range o.Object {
			if _, ok := u.Object[k]; !ok && !skipTopLevel(k, r) {
				return true
			}
		}
		return false
	}
	a, b := specOf(obj), specOf(old)
	return !apiequality.Semantic.DeepEqual(a, b)
}

func skipTopLevel(k string, r *apis.Resource) bool {
	return k == "metadata" || k == "apiVersion" || k == "kind" || (r.StatusField != "" && k == r.StatusField)
}

// DeleteCollection deletes every object a list with opts selects, one by
// one, and returns the list of deleted (or now deleting) objects.
func (s *Store) DeleteCollection(ctx context.Context, ns string, lo *metav1.ListOptions, opts *metav1.DeleteOptions, dryRun bool) (runtime.Object, error) {
	listOpts := *lo
	listOpts.Limit, listOpts.Continue = 0, ""
	list, err := s.List(ctx, ns, &listOpts)
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	var deleted []runtime.Object
	for _, it := range items {
		acc, err := meta.Accessor(it)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		res, err := s.Delete(ctx, acc.GetNamespace(), acc.GetName(), opts, dryRun)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		deleted = append(deleted, res.Object)
	}
	if err := meta.SetList(list, deleted); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return list, nil
}

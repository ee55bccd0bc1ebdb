package apiserver

import (
	"context"
	"fmt"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/crd"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/storage"
)

// crdCleanupFinalizer keeps a deleted CRD until its custom resources are
// gone, as apiextensions-apiserver does.
const crdCleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io"

// crdController serves the custom resources of CustomResourceDefinitions:
// it names and establishes new CRDs, installs their versions in the
// catalogue (so discovery, OpenAPI and the handlers see them at once),
// and on deletion removes every custom resource before the CRD itself.
type crdController struct {
	s     *server
	store *registry.Store
	// selectable remembers each installed CRD's selectable fields: when
	// they change, the shared watch cache is rebuilt to index the new ones.
	selectable map[string]string
}

func (s *server) startCRDController(ctx context.Context) error {
	c := &crdController{s: s, selectable: map[string]string{}}
	c.store, _ = s.stores.Store(mustLookup(s.catalogue, "apiextensions.k8s.io", "v1", "customresourcedefinitions"))
	list, err := c.store.List(ctx, "", &metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing CRDs: %w", err)
	}
	crds := list.(*apiextensionsv1.CustomResourceDefinitionList)
	for i := range crds.Items {
		c.sync(ctx, &crds.Items[i])
	}
	go c.run(ctx, crds.ResourceVersion)
	return nil
}

// run follows CRD changes until ctx ends, re-listing after a watch error.
func (c *crdController) run(ctx context.Context, rv string) {
	for ctx.Err() == nil {
		w, err := c.store.Watch(ctx, "", &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			c.s.log.Warn("watching CRDs", "err", err)
			// Wait, but not past the end: Stop must not leave this behind.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			rv = ""
			continue
		}
		for ev := range w.ResultChan() {
			switch ev.Type {
			case storage.Added, storage.Modified:
				obj := ev.Object.(*apiextensionsv1.CustomResourceDefinition)
				rv = obj.ResourceVersion
				c.sync(ctx, obj)
			case storage.Deleted:
				obj := ev.Object.(*apiextensionsv1.CustomResourceDefinition)
				rv = obj.ResourceVersion
				c.uninstall(obj.Name)
			case storage.Bookmark:
				if m, ok := ev.Object.(metav1.Object); ok {
					rv = m.GetResourceVersion()
				}
			case storage.ErrorEvent:
				rv = "" // expired: start again from the current state
			}
		}
		w.Stop()
		if rv == "" && ctx.Err() == nil {
			if list, err := c.store.List(ctx, "", &metav1.ListOptions{}); err == nil {
				crds := list.(*apiextensionsv1.CustomResourceDefinitionList)
				for i := range crds.Items {
					c.sync(ctx, &crds.Items[i])
				}
				rv = crds.ResourceVersion
			}
		}
	}
}

// sync brings one CRD's serving state and status up to date.
func (c *crdController) sync(ctx context.Context, obj *apiextensionsv1.CustomResourceDefinition) {
	if obj.DeletionTimestamp != nil {
		c.finalize(ctx, obj)
		return
	}
	if !hasString(obj.Finalizers, crdCleanupFinalizer) {
		_, err := c.store.Update(ctx, "", obj.Name, func(cur kruntime.Object) (kruntime.Object, error) {
			o := cur.(*apiextensionsv1.CustomResourceDefinition)
			if !hasString(o.Finalizers, crdCleanupFinalizer) {
				o.Finalizers = append(o.Finalizers, crdCleanupFinalizer)
			}
			return o, nil
		}, registry.WriteOptions{FieldManager: "kastle-crd-controller"})
		if err != nil && !apierrors.IsNotFound(err) {
			c.s.log.Warn("adding CRD finalizer", "crd", obj.Name, "err", err)
		}
		return // the update comes back as an event
	}
	others := c.others(ctx)
	st := crd.ComputeStatus(obj, others)
	if !apiequality.Semantic.DeepEqual(st, obj.Status) {
		_, err := c.store.Update(ctx, "", obj.Name, func(cur kruntime.Object) (kruntime.Object, error) {
			o := cur.(*apiextensionsv1.CustomResourceDefinition)
			o.Status = crd.ComputeStatus(o, others)
			return o, nil
		}, registry.WriteOptions{FieldManager: "kastle-crd-controller", Subresource: "status"})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			c.s.log.Warn("updating CRD status", "crd", obj.Name, "err", err)
		}
		return
	}
	if !isEstablished(obj) {
		return
	}
	if err := c.install(obj); err != nil {
		c.s.log.Warn("serving CRD", "crd", obj.Name, "err", err)
	}
}

func (c *crdController) others(ctx context.Context) []*apiextensionsv1.CustomResourceDefinition {
	list, err := c.store.List(ctx, "", &metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil
	}
	items := list.(*apiextensionsv1.CustomResourceDefinitionList).Items
	out := make([]*apiextensionsv1.CustomResourceDefinition, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

func isEstablished(obj *apiextensionsv1.CustomResourceDefinition) bool {
	for _, cond := range obj.Status.Conditions {
		if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

// install replaces the served versions of obj.
func (c *crdController) install(obj *apiextensionsv1.CustomResourceDefinition) error {
	var rs []*apis.Resource
	var storageRes *apis.Resource
	for _, v := range obj.Spec.Versions {
		if !v.Served && !v.Storage {
			continue
		}
		r, err := customResource(obj, v.Name)
		if err != nil {
			return err
		}
		if v.Storage {
			storageRes = r
		}
		if v.Served {
			rs = append(rs, r)
		}
	}
	if storageRes == nil {
		return fmt.Errorf("CRD %s has no storage version", obj.Name)
	}
	conv, err := c.s.newConversionWebhook(obj)
	if err != nil {
		return err
	}
	if conv != nil {
		for _, r := range rs {
			useConversionWebhook(r, conv, storageRes.APIVersion())
		}
	}
	selectable := unionSelectable(obj)
	key := strings.Join(selectable, ",")
	if prev, ok := c.selectable[obj.Name]; ok && prev != key {
		_, prefix := c.s.storageForCustom(storageRes, selectable)
		c.s.dropStorage(prefix)
	}
	c.selectable[obj.Name] = key
	for _, r := range rs {
		st, prefix := c.s.storageForCustom(storageRes, selectable)
		c.s.stores.set(r, &registry.Store{
			Resource: r, Storage: st, Prefix: prefix,
			Admission: admissionRef{c.s}, Fields: c.s.fields, Now: time.Now,
		})
		c.s.fields.Forget(r.GVK())
	}
	old := c.s.catalogue.Custom(obj.Name)
	if err := c.s.catalogue.SetCustom(obj.Name, rs); err != nil {
		return err
	}
	for _, r := range old {
		if !containsResource(rs, r) {
			c.s.stores.remove(r)
		}
	}
	return nil
}

func containsResource(rs []*apis.Resource, r *apis.Resource) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// uninstall stops serving a CRD's resources.
func (c *crdController) uninstall(name string) {
	old := c.s.catalogue.Custom(name)
	_ = c.s.catalogue.SetCustom(name, nil)
	delete(c.selectable, name)
	for _, r := range old {
		c.s.stores.remove(r)
	}
}

// finalize deletes every custom resource of a CRD being deleted, then
// removes the cleanup finalizer so the CRD goes too.
func (c *crdController) finalize(ctx context.Context, obj *apiextensionsv1.CustomResourceDefinition) {
	if !hasString(obj.Finalizers, crdCleanupFinalizer) {
		return
	}
	// Stop serving first so no new objects appear while we delete.
	c.uninstall(obj.Name)
	var storageVersion string
	for _, v := range obj.Spec.Versions {
		if v.Storage {
			storageVersion = v.Name
		}
	}
	if storageVersion != "" {
		r, err := customResource(obj, storageVersion)
		if err == nil {
			st, prefix := c.s.storageForCustom(r, nil)
			if err := deleteAllUnder(ctx, st, prefix+"/"); err != nil {
				c.s.log.Warn("deleting custom resources", "crd", obj.Name, "err", err)
				return
			}
			c.s.dropStorage(prefix)
		}
	}
	_, err := c.store.Update(ctx, "", obj.Name, func(cur kruntime.Object) (kruntime.Object, error) {
		o := cur.(*apiextensionsv1.CustomResourceDefinition)
		o.Finalizers = removeString(o.Finalizers, crdCleanupFinalizer)
		return o, nil
	}, registry.WriteOptions{FieldManager: "kastle-crd-controller"})
	if err != nil && !apierrors.IsNotFound(err) {
		c.s.log.Warn("removing CRD finalizer", "crd", obj.Name, "err", err)
	}
}

// deleteAllUnder removes every object below prefix, finalizers or not:
// their type is going away.
func deleteAllUnder(ctx context.Context, st storage.Interface, prefix string) error {
	for {
		res, err := st.GetList(ctx, prefix, storage.ListOptions{Recursive: true, Limit: 500})
		if err != nil {
			return err
		}
		if len(res.Items) == 0 {
			return nil
		}
		for _, it := range res.Items {
			m := it.(metav1.Object)
			key := prefix + m.GetName()
			if m.GetNamespace() != "" {
				key = prefix + m.GetNamespace() + "/" + m.GetName()
			}
			if _, err := st.Delete(ctx, key, nil, nil); err != nil && !storage.IsNotFound(err) {
				return err
			}
		}
	}
}

// customResource builds the catalogue row of one version of a CRD.
func customResource(obj *apiextensionsv1.CustomResourceDefinition, version string) (*apis.Resource, error) {
	sch, err := crd.Compile(obj, version)
	if err != nil {
		return nil, err
	}
	names := obj.Status.AcceptedNames
	if names.Plural == "" {
		names = obj.Spec.Names
	}
	listKind := names.ListKind
	if listKind == "" {
		listKind = names.Kind + "List"
	}
	gv := schema.GroupVersion{Group: obj.Spec.Group, Version: version}
	gvk, listGVK := gv.WithKind(names.Kind), gv.WithKind(listKind)
	r := &apis.Resource{
		Group: gv.Group, Version: gv.Version, Kind: names.Kind, ListKind: listKind,
		Plural: names.Plural, Singular: names.Singular,
		Namespaced: obj.Spec.Scope == apiextensionsv1.NamespaceScoped,
		ShortNames: names.ShortNames, Categories: names.Categories,
		Verbs: apis.StandardVerbs(), Custom: true, CRDName: obj.Name,
		Schema: sch.OpenAPISchema(), StorageCodec: "json",
		EtcdPrefix: obj.Spec.Group + "/" + names.Plural,
		New: func() kruntime.Object {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(gvk)
			return u
		},
		NewList: func() kruntime.Object {
			u := &unstructured.UnstructuredList{}
			u.SetGroupVersionKind(listGVK)
			return u
		},
	}
	if r.Singular == "" {
		r.Singular = lower(names.Kind)
	}
	for _, v := range obj.Spec.Versions {
		if v.Name == version {
			r.Fields = customFields(selectablePaths(v))
		}
	}
	if sch.StatusEnabled() {
		r.StatusField = "status"
		r.Subresources = append(r.Subresources, apis.Subresource{Name: "status", Verbs: []string{"get", "patch", "update"}})
	}
	if sc := sch.Scale(); sc != nil {
		r.Subresources = append(r.Subresources, apis.Subresource{Name: "scale", Kind: autoscalingv1.SchemeGroupVersion.WithKind("Scale"), Verbs: []string{"get", "patch", "update"}})
		r.Scale = func(o kruntime.Object) (*autoscalingv1.Scale, error) {
			return crd.GetScale(o.(*unstructured.Unstructured), sc)
		}
		r.SetReplicas = func(o kruntime.Object, n int32) error { return crd.SetReplicas(o.(*unstructured.Unstructured), sc, n) }
	}
	r.Default = func(o kruntime.Object) {
		if u, ok := o.(*unstructured.Unstructured); ok {
			sch.Default(u.Object)
		}
	}
	r.DefaultReads = sch.HasDefaults()
	validate := func(o kruntime.Object) field.ErrorList {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return field.ErrorList{field.InternalError(nil, fmt.Errorf("unexpected type %T", o))}
		}
		return sch.Validate(u.Object)
	}
	// x-kubernetes-validations rules run after the schema checks pass,
	// with the stored object as oldSelf on updates (transition rules).
	rules := func(o, old kruntime.Object) field.ErrorList {
		u, _ := o.(*unstructured.Unstructured)
		if u == nil || !sch.HasRules() {
			return nil
		}
		var oldMap map[string]interface{}
		if ou, ok := old.(*unstructured.Unstructured); ok {
			oldMap = ou.Object
		}
		return sch.ValidateRules(context.Background(), u.Object, oldMap)
	}
	r.Validate = func(o kruntime.Object) field.ErrorList {
		if errs := validate(o); len(errs) > 0 {
			return errs
		}
		return rules(o, nil)
	}
	r.ValidateUpdate = func(o, old kruntime.Object) field.ErrorList {
		if errs := validate(o); len(errs) > 0 {
			return errs
		}
		return rules(o, old)
	}
	r.ValidateStatusUpdate = r.ValidateUpdate
	r.Prune = func(o kruntime.Object) []string {
		if u, ok := o.(*unstructured.Unstructured); ok {
			return sch.Prune(u.Object)
		}
		return nil
	}
	r.Columns = sch.PrinterColumns()
	r.Row = func(o kruntime.Object) ([]interface{}, error) { return sch.Row(o.(*unstructured.Unstructured)) }
	return r, nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func removeString(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

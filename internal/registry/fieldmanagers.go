package registry

import (
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kastle-dev/kastle/internal/apis"
)

// TypeConverters supplies the structured-merge-diff types of a resource:
// built-ins from their Go types, custom resources from their CRD schema.
type TypeConverters interface {
	TypeConverter(r *apis.Resource) (managedfields.TypeConverter, error)
}

// FieldManagers tracks metadata.managedFields on every write and performs
// server-side apply, with one field manager per resource version and
// subresource, built on first use.
type FieldManagers struct {
	scheme *runtime.Scheme
	types  TypeConverters
	mu     sync.Mutex
	byKey  map[fmKey]*managedfields.FieldManager
}

type fmKey struct {
	gvk         schema.GroupVersionKind
	subresource string
	gen         interface{}
}

// NewFieldManagers returns the managed-fields tracker for scheme's types
// and the type converters tc.
func NewFieldManagers(scheme *runtime.Scheme, tc TypeConverters) *FieldManagers {
	return &FieldManagers{scheme: scheme, types: tc, byKey: map[fmKey]*managedfields.FieldManager{}}
}

// Forget drops cached managers of a resource (its schema changed).
func (f *FieldManagers) Forget(gvk schema.GroupVersionKind) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.byKey {
		if k.gvk == gvk {
			delete(f.byKey, k)
		}
	}
}

func (f *FieldManagers) manager(r *apis.Resource, subresource string) (*managedfields.FieldManager, error) {
	if subresource == "approval" {
		subresource = "status"
	}
	key := fmKey{gvk: r.GVK(), subresource: subresource}
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.byKey[key]; ok {
		return m, nil
	}
	tc, err := f.types.TypeConverter(r)
	if err != nil {
		return nil, err
	}
	reset := resetFields(r, subresource)
	var m *managedfields.FieldManager
	if r.Custom {
		m, err = managedfields.NewDefaultCRDFieldManager(tc, unstructuredConvertor{}, noDefaults{}, unstructuredCreater{}, r.GVK(), r.GroupVersion(), subresource, reset)
	} else {
		m, err = managedfields.NewDefaultFieldManager(tc, f.scheme, f.scheme, f.scheme, r.GVK(), r.GroupVersion(), subresource, reset)
	}
	if err != nil {
		return nil, fmt.Errorf("field manager for %s: %w", r, err)
	}
	f.byKey[key] = m
	return m, nil
}

// resetFields lists the fields a write through a (sub)resource cannot own:
// the main resource does not own status, the status subresource owns
// nothing but status.
func resetFields(r *apis.Resource, subresource string) map[fieldpath.APIVersion]fieldpath.Filter {
	if r.StatusField == "" {
		return nil
	}
	var set *fieldpath.Set
	switch subresource {
	case "":
		set = fieldpath.NewSet(fieldpath.MakePathOrDie(r.StatusField))
	case "finalize":
		set = fieldpath.NewSet(fieldpath.MakePathOrDie(r.StatusField), fieldpath.MakePathOrDie("metadata"))
	default:
		set = fieldpath.NewSet(fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("metadata"))
	}
	return map[fieldpath.APIVersion]fieldpath.Filter{
		fieldpath.APIVersion(r.APIVersion()): fieldpath.NewExcludeSetFilter(set),
	}
}

// Update records manager as the owner of the fields it changed from live
// to obj. Tracking failures never block a write (as in kube-apiserver):
// the object is stored with its managed fields reset.
func (f *FieldManagers) Update(r *apis.Resource, subresource string, live, obj runtime.Object, manager string) (runtime.Object, error) {
	m, err := f.manager(r, subresource)
	if err != nil {
		return obj, nil
	}
	return m.UpdateNoErrors(live, obj, manager), nil
}

// Apply performs server-side apply of applied (the patch, as an
// unstructured object) onto live.
func (f *FieldManagers) Apply(r *apis.Resource, subresource string, live runtime.Object, applied *unstructured.Unstructured, manager string, force bool) (runtime.Object, error) {
	m, err := f.manager(r, subresource)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out, err := m.Apply(live, applied, manager, force)
	if err != nil {
		if _, ok := err.(apierrors.APIStatus); ok {
			return nil, err
		}
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return out, nil
}

// Custom resources are unstructured; their "conversion" between versions
// of one CRD (strategy None) only rewrites apiVersion.

type unstructuredConvertor struct{}

func (unstructuredConvertor) Convert(in, out, context interface{}) error {
	return fmt.Errorf("unstructured conversion is not supported")
}

func (unstructuredConvertor) ConvertToVersion(in runtime.Object, gv runtime.GroupVersioner) (runtime.Object, error) {
	u, ok := in.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("expected unstructured, got %T", in)
	}
	target, ok := gv.KindForGroupVersionKinds([]schema.GroupVersionKind{u.GroupVersionKind()})
	if !ok {
		return nil, fmt.Errorf("cannot convert %s to %v", u.GroupVersionKind(), gv)
	}
	out := u.DeepCopy()
	out.SetGroupVersionKind(target)
	return out, nil
}

func (unstructuredConvertor) ConvertFieldLabel(gvk schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}

type unstructuredCreater struct{}

func (unstructuredCreater) New(kind schema.GroupVersionKind) (runtime.Object, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(kind)
	return u, nil
}

type noDefaults struct{}

func (noDefaults) Default(runtime.Object) {}

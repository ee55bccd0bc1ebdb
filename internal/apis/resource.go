package apis

import (
	"reflect"
	"sync"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

// Verbs every resource supports. Subresource verbs are listed per
// subresource.
var standardVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// StandardVerbs returns the verbs of an ordinary resource, sorted.
func StandardVerbs() []string { return append([]string(nil), standardVerbs...) }

// Subresource describes one subresource of a resource (status, approval,
// scale, token, …).
type Subresource struct {
	// Name is the path segment after the object name, e.g. "status".
	Name string
	// Kind is the kind read and written through the subresource; empty
	// means the parent's kind.
	Kind schema.GroupVersionKind
	// Verbs served on the subresource.
	Verbs []string
}

// Behaviour holds the per-resource functions the generic registry calls.
// Any nil function means "nothing to do".
type Behaviour struct {
	// PrepareForCreate records the requester on objects that keep it
	// (CertificateSigningRequest's spec.username, groups, uid, extra).
	// requester is nil for the server's own writes.
	PrepareForCreate func(obj runtime.Object, requester *user.Info)
	// PrepareForUpdate adjusts an update against the stored object after
	// the status split (subresource is "" or the subresource written),
	// e.g. a PersistentVolume's status.lastPhaseTransitionTime.
	PrepareForUpdate func(obj, old runtime.Object, subresource string)
	// Default fills defaults in place (create, update and decode of old
	// stored objects).
	Default func(obj runtime.Object)
	// Validate checks a new object on create.
	Validate func(obj runtime.Object) field.ErrorList
	// ValidateUpdate checks an update of the main resource.
	ValidateUpdate func(obj, old runtime.Object) field.ErrorList
	// ValidateStatusUpdate checks an update through the status (or
	// approval) subresource.
	ValidateStatusUpdate func(obj, old runtime.Object) field.ErrorList
	// Fields returns the resource-specific selectable fields (beyond
	// metadata.name and metadata.namespace), e.g. spec.nodeName for pods.
	Fields func(obj runtime.Object) fields.Set
	// Prune drops the fields a schema does not know from a decoded
	// custom resource and returns their paths (fieldValidation reports
	// them). Built-in types find unknown fields while decoding instead.
	Prune func(obj runtime.Object) []string
	// Scale reads the scale subresource; SetReplicas writes it. Both nil
	// means the resource has no scale subresource.
	Scale       func(obj runtime.Object) (*autoscalingv1.Scale, error)
	SetReplicas func(obj runtime.Object, replicas int32) error
	// Columns and Row produce kubectl's table output. Row returns one
	// cell per column.
	Columns []metav1.TableColumnDefinition
	Row     func(obj runtime.Object) ([]interface{}, error)
}

// Resource is one row of the catalogue.
type Resource struct {
	Group, Version string
	Kind, ListKind string
	// Plural is the resource name in URLs; Singular its singular form.
	Plural, Singular string
	Namespaced       bool
	ShortNames       []string
	Categories       []string
	Verbs            []string
	Subresources     []Subresource
	// StatusField is the top-level field a status subresource owns
	// ("status"); empty when the resource has no status subresource.
	StatusField string
	// GenerationOnSpecChange bumps metadata.generation when anything other
	// than metadata and the status field changes.
	GenerationOnSpecChange bool
	// StatusWritesMetadata lets writes to the status subresource change
	// labels and annotations too, as upstream's status strategies of pods,
	// nodes, services and namespaces do (admission then sees them: a node
	// may not relabel its pods through pods/status).
	StatusWritesMetadata bool
	// New and NewList return empty objects of the resource's kinds with
	// apiVersion and kind set.
	New     func() runtime.Object
	NewList func() runtime.Object
	// GoType is the Go struct of the kind (nil for custom resources).
	GoType, GoListType reflect.Type
	// Virtual resources are create-only reviews the server answers
	// without storing anything; they have no list kind or storage.
	Virtual bool
	// Custom is true for resources defined by a CustomResourceDefinition.
	Custom bool
	// DefaultReads applies Default to custom resources read from storage
	// too (their schema has defaults, perhaps added after the objects were
	// stored), as kube-apiserver does.
	DefaultReads bool
	// CRDName names the defining CRD; Schema is this version's structural
	// schema (custom resources only).
	CRDName string
	Schema  *apiextensionsv1.JSONSchemaProps
	// FromStorage and ToStorage convert between this version and the
	// storage version of a typed resource served at several versions
	// (autoscaling/v1 HorizontalPodAutoscalers kept as v2). Versions share
	// the storage of their etcd prefix, as CRD versions do; both nil means
	// objects are kept in this version.
	FromStorage func(runtime.Object) (runtime.Object, error)
	ToStorage   func(runtime.Object) (runtime.Object, error)
	// FromStorageList, when set, converts a page of stored objects in one
	// call, in order (a CRD conversion webhook gets one ConversionReview
	// per list page, as upstream batches); nil converts each with
	// FromStorage.
	FromStorageList func([]runtime.Object) ([]runtime.Object, error)
	// Deprecated is the warning sent with every answer about a deprecated
	// resource (componentstatuses), as kube-apiserver sends it.
	Deprecated string
	// Storage describes how the objects are kept.
	StorageCodec string // "protobuf" or "json"
	// EtcdPrefix is the key prefix under the server's etcd prefix,
	// e.g. "configmaps" or "apps/deployments".
	EtcdPrefix string
	Behaviour

	fieldLabelsOnce sync.Once
	fieldLabels     []string
}

// GroupVersion returns the resource's group and version.
func (r *Resource) GroupVersion() schema.GroupVersion {
	return schema.GroupVersion{Group: r.Group, Version: r.Version}
}

// GVK returns the kind of single objects.
func (r *Resource) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// GVR returns the group, version and plural resource name.
func (r *Resource) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Plural}
}

// FieldLabels lists the resource-specific selectable fields (beyond
// metadata.name and metadata.namespace), computed once.
func (r *Resource) FieldLabels() []string {
	r.fieldLabelsOnce.Do(func() {
		if r.Fields == nil {
			return
		}
		for k := range r.Fields(r.New()) {
			r.fieldLabels = append(r.fieldLabels, k)
		}
	})
	return r.fieldLabels
}

// Subresource returns the named subresource, or nil.
func (r *Resource) Subresource(name string) *Subresource {
	for i := range r.Subresources {
		if r.Subresources[i].Name == name {
			return &r.Subresources[i]
		}
	}
	return nil
}

// HasVerb reports whether the resource supports verb.
func (r *Resource) HasVerb(verb string) bool {
	for _, v := range r.Verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// APIVersion returns the apiVersion string of the resource's objects.
func (r *Resource) APIVersion() string { return r.GroupVersion().String() }

// String names the resource as group/version/plural for messages.
func (r *Resource) String() string {
	if r.Group == "" {
		return r.Plural
	}
	return r.Plural + "." + r.Group
}

// GroupResource returns the group and plural resource, as used in API
// error messages.
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.Group, Resource: r.Plural}
}

// etcdPrefix derives the key prefix of a resource: core resources keep the
// plural alone, other groups are prefixed by the group, as kube-apiserver
// lays out its keys.
func etcdPrefix(group, plural string) string {
	if group == "" {
		return plural
	}
	return group + "/" + plural
}

// validate checks a catalogue row once at load.
func (r *Resource) validate() error {
	switch {
	case r.Version == "" || r.Kind == "" || r.Plural == "":
		return errorf("catalogue row %+v: version, kind and plural are required", r.GVR())
	case strings.ToLower(r.Plural) != r.Plural:
		return errorf("catalogue row %s: plural must be lower case", r)
	case r.New == nil || r.NewList == nil:
		return errorf("catalogue row %s: New and NewList are required", r)
	}
	return nil
}

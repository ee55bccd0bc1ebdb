package storage

import (
	"context"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// Codec turns objects into the bytes kept in etcd and back. Decode returns a
// new object; the storage layer sets metadata.resourceVersion on it from the
// key's ModRevision, so encoded bytes never carry a resourceVersion.
type Codec interface {
	Encode(obj runtime.Object) ([]byte, error)
	Decode(data []byte) (runtime.Object, error)
}

// Versioner reads and writes the resourceVersion of objects. The zero value
// is not usable; use APIObjectVersioner.
type Versioner interface {
	// ObjectResourceVersion parses metadata.resourceVersion; "" is 0.
	ObjectResourceVersion(obj runtime.Object) (int64, error)
	// UpdateObject sets metadata.resourceVersion ("" for 0).
	UpdateObject(obj runtime.Object, rv int64) error
}

// AttrFunc returns the labels and the selectable fields of an object.
type AttrFunc func(obj runtime.Object) (labels.Set, fields.Set, error)

// Predicate selects objects by label and field. A Predicate with nil
// selectors matches everything.
type Predicate struct {
	Label    labels.Selector
	Field    fields.Selector
	GetAttrs AttrFunc
}

// Empty reports whether the predicate matches every object.
func (p Predicate) Empty() bool {
	return (p.Label == nil || p.Label.Empty()) && (p.Field == nil || p.Field.Empty())
}

// Matches reports whether obj satisfies both selectors.
func (p Predicate) Matches(obj runtime.Object) (bool, error) {
	if p.Empty() {
		return true, nil
	}
	ls, fs, err := p.GetAttrs(obj)
	if err != nil {
		return false, err
	}
	if p.Label != nil && !p.Label.Matches(ls) {
		return false, nil
	}
	if p.Field != nil && !p.Field.Matches(fs) {
		return false, nil
	}
	return true, nil
}

// ResourceVersionMatch mirrors metav1.ResourceVersionMatch.
type ResourceVersionMatch string

// The resourceVersionMatch values a list accepts.
const (
	MatchDefault      ResourceVersionMatch = ""
	MatchNotOlderThan ResourceVersionMatch = "NotOlderThan"
	MatchExact        ResourceVersionMatch = "Exact"
)

// GetOptions control a single-object read.
type GetOptions struct {
	// ResourceVersion "" means the latest state (a consistent read);
	// "0" means any state (the cache may answer); "N" means not older than N.
	ResourceVersion string
	// IgnoreNotFound returns a zero object instead of ErrCodeKeyNotFound.
	IgnoreNotFound bool
}

// ListOptions control a list. The semantics follow the Kubernetes API
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions).
type ListOptions struct {
	// ResourceVersion as sent by the client: "" (consistent), "0" (any) or N.
	ResourceVersion      string
	ResourceVersionMatch ResourceVersionMatch
	Predicate            Predicate
	// Limit caps the number of returned items (0 = no limit).
	Limit int64
	// Continue is the opaque token returned by a previous page.
	Continue string
	// Recursive lists every key under the prefix (always true for lists of
	// a resource; false reads the single key as a list, used for
	// metadata.name field selectors).
	Recursive bool
}

// ListResult is one page of a list.
type ListResult struct {
	Items []runtime.Object
	// ResourceVersion is the revision the page was read at.
	ResourceVersion int64
	// Continue is empty on the last page.
	Continue string
	// RemainingItemCount is set when known (no field/label filtering).
	RemainingItemCount *int64
	// Encodings, when not nil, holds the cached forms of each item (same
	// index as Items; an element may be nil). The watch cache sets it.
	Encodings []*Encodings
}

// Preconditions must hold on the current object for a write to proceed.
type Preconditions struct {
	UID             *string
	ResourceVersion *string
}

// UpdateFunc computes the new state from the current one. It receives a
// private copy it may mutate. Returning an error aborts the update with
// that error. It may be called more than once when the key changes
// concurrently.
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// ValidateDeleteFunc may veto a delete after seeing the current object.
type ValidateDeleteFunc func(current runtime.Object) error

// WatchOptions control a watch.
type WatchOptions struct {
	// ResourceVersion: "" or "0" starts with the current state as ADDED
	// events (unless SendInitialEvents is explicitly false), "N" sends every
	// change after N.
	ResourceVersion string
	// SendInitialEvents, when non-nil, is the client's explicit choice
	// (client-go's WatchList); with it, a BOOKMARK annotated
	// "k8s.io/initial-events-end": "true" marks the end of the initial state.
	SendInitialEvents *bool
	Predicate         Predicate
	// Recursive watches every key under the prefix.
	Recursive bool
	// AllowBookmarks lets the watch send periodic BOOKMARK events.
	AllowBookmarks bool
}

// EventType is the type of a watch event.
type EventType string

// The event types of the Kubernetes watch protocol.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
	Bookmark EventType = "BOOKMARK"
	// ErrorEvent is named so because Error is the storage error type.
	ErrorEvent EventType = "ERROR"
)

// Event is one change seen by a watch. For Deleted, Object is the last
// state with its resourceVersion set to the deletion's revision. For
// Bookmark, Object is an empty object of the resource's kind carrying only
// a resourceVersion (and annotations). For ErrorEvent, Err is set.
type Event struct {
	Type   EventType
	Object runtime.Object
	Err    error
}

// Watcher is a running watch. Stop is idempotent; ResultChan is closed
// after Stop or when the watch ends (timeout, server shutdown, error).
type Watcher interface {
	ResultChan() <-chan Event
	Stop()
}

// Interface is the storage of one resource (one key prefix, one codec).
// All keys are full etcd keys below the store's prefix.
type Interface interface {
	// Create stores obj at key if absent; ErrCodeKeyExists otherwise.
	Create(ctx context.Context, key string, obj runtime.Object) (runtime.Object, error)
	// Get reads one key; ErrCodeKeyNotFound if absent.
	Get(ctx context.Context, key string, opts GetOptions) (runtime.Object, error)
	// GetList reads a page of keys under prefix.
	GetList(ctx context.Context, prefix string, opts ListOptions) (*ListResult, error)
	// GuaranteedUpdate applies tryUpdate to the current object and writes
	// the result in a transaction conditioned on the read's ModRevision,
	// retrying on conflict. If the update produces bytes equal to the
	// stored ones, nothing is written and the current object is returned.
	GuaranteedUpdate(ctx context.Context, key string, preconditions *Preconditions, tryUpdate UpdateFunc) (runtime.Object, error)
	// Delete removes key when preconditions and validate pass on the
	// current object, in one transaction conditioned on its ModRevision.
	Delete(ctx context.Context, key string, preconditions *Preconditions, validate ValidateDeleteFunc) (runtime.Object, error)
	// Watch streams changes under key (or prefix when Recursive).
	Watch(ctx context.Context, key string, opts WatchOptions) (Watcher, error)
	// Count returns the number of keys under prefix.
	Count(ctx context.Context, prefix string) (int64, error)
}

// GuessUpdater is a store whose updates can start from a state the caller
// already holds (the watch cache's copy of the key) instead of reading the
// key first: when the guess is current, an update costs one etcd
// transaction; when it is stale, the transaction fails and its answer is
// the current state, as with a concurrent write.
type GuessUpdater interface {
	// GuaranteedUpdateFrom is GuaranteedUpdate starting from guess, the
	// caller's copy of key's state, whose resourceVersion is the key's
	// ModRevision when it was read. guess is shared: the store neither
	// modifies it nor passes it to tryUpdate. The answer is the one
	// GuaranteedUpdate would give: an error or a no-op found on the guess
	// is confirmed on a state read from etcd before it is returned.
	GuaranteedUpdateFrom(ctx context.Context, key string, guess runtime.Object, preconditions *Preconditions, tryUpdate UpdateFunc) (runtime.Object, error)
}

// ValueTransformer changes values on their way to and from etcd
// (encryption at rest). key is the etcd key, bound to the value so a value
// copied to another key does not read back. stale reports a value written
// by an older configuration, which an update should rewrite.
type ValueTransformer interface {
	TransformToStorage(ctx context.Context, data []byte, key string) ([]byte, error)
	TransformFromStorage(ctx context.Context, data []byte, key string) (out []byte, stale bool, err error)
}

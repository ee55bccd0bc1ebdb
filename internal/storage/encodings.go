package storage

import (
	"sync/atomic"

	"k8s.io/apimachinery/pkg/runtime"
)

// EncodingSlots is how many serialized forms an Encodings holds. Which
// form goes in which slot is the consumer's choice (the API handlers':
// JSON, JSON as a list item, protobuf, metadata-only forms).
const EncodingSlots = 8

// Encodings caches the serialized forms of one stored object version, so
// that reads of an unchanged object do not encode it again. A form is built
// on first use and kept until the object changes (the cache then releases
// the old version's Encodings) or, when the budget is spent, not kept at
// all. The zero value is not usable; the watch cache makes them.
type Encodings struct {
	budget   *EncodingBudget
	slots    [EncodingSlots]atomic.Pointer[[]byte]
	linked   [LinkedSlots]atomic.Pointer[linkedForm]
	released atomic.Bool
	// id tells object versions apart for the linked forms: unlike an
	// address, it is never reused.
	id uint64
}

// LinkedSlots is how many forms that depend on the preceding object of a
// response (see Linked) an Encodings holds.
const LinkedSlots = 2

// linkedForm is a form built to follow the object version whose
// Encodings has id after.
type linkedForm struct {
	after uint64
	b     []byte
}

// encodingIDs numbers Encodings.
var encodingIDs atomic.Uint64

// NewEncodings returns an empty cache of one object version's forms,
// charging budget.
func NewEncodings(budget *EncodingBudget) *Encodings {
	return &Encodings{budget: budget, id: encodingIDs.Add(1)}
}

// LinkedKept returns the form in linked slot slot when the kept one was
// built to follow prev, nil otherwise; it builds nothing.
func (e *Encodings) LinkedKept(slot int, prev *Encodings) []byte {
	if e == nil || prev == nil {
		return nil
	}
	if f := e.linked[slot].Load(); f != nil && f.after == prev.id {
		return f.b
	}
	return nil
}

// Linked returns the form in linked slot slot that follows the object
// version prev, building it with build when the kept one was built to
// follow another version (or none is kept). It is for forms that refer to
// the bytes before them in a response, such as a compressed list item
// whose back-references reach into the previous item; each object keeps
// one such form per slot, for the predecessor it last had. A nil
// Encodings (or a nil prev) builds every time.
func (e *Encodings) Linked(slot int, prev *Encodings, build func() ([]byte, error)) ([]byte, error) {
	if e == nil || prev == nil {
		return build()
	}
	old := e.linked[slot].Load()
	if old != nil && old.after == prev.id {
		return old.b, nil
	}
	b, err := build()
	if err != nil {
		return nil, err
	}
	if e.released.Load() || !e.budget.take(len(b)) {
		return b, nil
	}
	if !e.linked[slot].CompareAndSwap(old, &linkedForm{after: prev.id, b: b}) {
		// Another reader replaced it meanwhile; keep theirs.
		e.budget.give(len(b))
		return b, nil
	}
	if old != nil {
		e.budget.give(len(old.b))
	}
	// As in Get: a Release between the check and the store must not keep
	// the form.
	if e.released.Load() {
		e.dropLinked(slot)
	}
	return b, nil
}

// Get returns the form in slot, building it with build when it is not
// cached. The returned bytes are shared: callers must not modify them.
// A nil Encodings builds every time.
func (e *Encodings) Get(slot int, build func() ([]byte, error)) ([]byte, error) {
	if e == nil {
		return build()
	}
	if b := e.slots[slot].Load(); b != nil {
		return *b, nil
	}
	b, err := build()
	if err != nil {
		return nil, err
	}
	if e.released.Load() || !e.budget.take(len(b)) {
		return b, nil
	}
	if !e.slots[slot].CompareAndSwap(nil, &b) {
		// Another reader stored it first; theirs is the same bytes.
		e.budget.give(len(b))
		return *e.slots[slot].Load(), nil
	}
	// Release may have run between the check above and the store: whoever
	// swaps the slot empty gives its bytes back, so each form is given
	// back exactly once.
	if e.released.Load() {
		e.drop(slot)
	}
	return b, nil
}

// Release drops every cached form and stops caching new ones: the object
// version is no longer current. Readers that still hold it keep working.
func (e *Encodings) Release() {
	if e == nil {
		return
	}
	e.released.Store(true)
	for i := range e.slots {
		e.drop(i)
	}
	for i := range e.linked {
		e.dropLinked(i)
	}
}

func (e *Encodings) drop(slot int) {
	if b := e.slots[slot].Swap(nil); b != nil {
		e.budget.give(len(*b))
	}
}

func (e *Encodings) dropLinked(slot int) {
	if f := e.linked[slot].Swap(nil); f != nil {
		e.budget.give(len(f.b))
	}
}

// EncodingBudget bounds the bytes all Encodings sharing it keep. A nil
// budget keeps nothing.
type EncodingBudget struct {
	max  int64
	used atomic.Int64
}

// NewEncodingBudget returns a budget of maxBytes.
func NewEncodingBudget(maxBytes int64) *EncodingBudget {
	return &EncodingBudget{max: maxBytes}
}

// Used returns the bytes currently kept.
func (b *EncodingBudget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

func (b *EncodingBudget) take(n int) bool {
	if b == nil {
		return false
	}
	if b.used.Add(int64(n)) > b.max {
		b.used.Add(-int64(n))
		return false
	}
	return true
}

func (b *EncodingBudget) give(n int) {
	b.used.Add(-int64(n))
}

// EncodingCache is implemented by stores that keep Encodings for the
// objects they hand out (the watch cache).
type EncodingCache interface {
	// Encodings returns the Encodings of obj when obj is the current
	// version of key that the store handed out; nil otherwise (another
	// version, a copy, or an object read from etcd directly).
	Encodings(key string, obj runtime.Object) *Encodings
}

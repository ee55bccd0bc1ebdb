package endpoints

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/storage"
)

// The forms of an object the handlers keep in its storage.Encodings. Each
// is exactly what the serializers produce for it, so a response assembled
// from them is byte for byte the one encoding the whole response gives.
const (
	slotJSON            = iota // the object as a response body: the JSON encoder's output, newline included
	slotJSONItem               // the object as an item of its built-in list: no apiVersion/kind, no newline
	slotProtobuf               // the object's protobuf message, without the envelope
	slotMetaJSONv1             // its PartialObjectMetadata, meta.k8s.io/v1, JSON, no newline
	slotMetaJSONv1beta1        // the same, meta.k8s.io/v1beta1
	slotMetaProtobuf           // its PartialObjectMetadata's protobuf message (either version)
)

// protoPrefix starts every Kubernetes protobuf body.
var protoPrefix = []byte{0x6b, 0x38, 0x73, 0x00}

// protoMessage is a generated protobuf type.
type protoMessage interface {
	Marshal() ([]byte, error)
}

// objectBody returns the body of a single-object response in form out from
// obj's cached forms; ok is false for forms not served that way (YAML,
// pretty JSON, Table), which the caller encodes as usual.
func (q *req) objectBody(obj runtime.Object, enc *storage.Encodings, out Output) (body []byte, ok bool, err error) {
	if out.Pretty || (out.Media != mediaJSON && out.Media != mediaProtobuf) {
		return nil, false, nil
	}
	switch out.As {
	case "":
		if out.Media == mediaJSON {
			b, err := enc.Get(slotJSON, func() ([]byte, error) {
				var buf bytes.Buffer
				err := q.h.Ser.JSON.Encode(obj, &buf)
				return buf.Bytes(), err
			})
			return b, err == nil, err
		}
		pm, isProto := obj.(protoMessage)
		if !isProto {
			return nil, false, nil
		}
		raw, err := enc.Get(slotProtobuf, pm.Marshal)
		if err != nil {
			return nil, false, err
		}
		return protoEnvelope(obj.GetObjectKind().GroupVersionKind(), len(raw), func(w *chunks) { w.add(raw) }).join(), true, nil
	case "PartialObjectMetadata":
		if out.Media == mediaJSON {
			item, err := metaJSON(obj, enc, out.Version)
			if err != nil {
				return nil, false, err
			}
			return append(append(make([]byte, 0, len(item)+1), item...), '\n'), true, nil
		}
		raw, err := metaProtobuf(obj, enc)
		if err != nil {
			return nil, false, err
		}
		gvk := metaGroupVersion(out.Version).WithKind("PartialObjectMetadata")
		return protoEnvelope(gvk, len(raw), func(w *chunks) { w.add(raw) }).join(), true, nil
	}
	return nil, false, nil
}

// listBody returns the body of a list response in form out, made of the
// items' cached forms (referenced, not copied); ok is false where that does
// not apply (YAML, pretty JSON, Table, custom resources, an empty page),
// and the caller encodes the assembled list as usual.
func (q *req) listBody(page *registry.Page, out Output) (body *chunks, ok bool, err error) {
	if out.Pretty || (out.Media != mediaJSON && out.Media != mediaProtobuf) || len(page.Items) == 0 {
		return nil, false, nil
	}
	var shell runtime.Object
	var item func(i int) ([]byte, error)
	switch out.As {
	case "":
		if q.res.Custom {
			return nil, false, nil
		}
		shell = q.res.NewList()
		if out.Media == mediaJSON {
			item = func(i int) ([]byte, error) {
				return pageEnc(page, i).Get(slotJSONItem, func() ([]byte, error) { return itemJSON(page.Items[i]) })
			}
		} else {
			item = func(i int) ([]byte, error) {
				pm, isProto := page.Items[i].(protoMessage)
				if !isProto {
					return nil, fmt.Errorf("%T has no protobuf form", page.Items[i])
				}
				return pageEnc(page, i).Get(slotProtobuf, pm.Marshal)
			}
		}
	case "PartialObjectMetadataList":
		gv := metaGroupVersion(out.Version)
		shell = &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{APIVersion: gv.String(), Kind: "PartialObjectMetadataList"}}
		if out.Media == mediaJSON {
			item = func(i int) ([]byte, error) { return metaJSON(page.Items[i], pageEnc(page, i), out.Version) }
		} else {
			item = func(i int) ([]byte, error) { return metaProtobuf(page.Items[i], pageEnc(page, i)) }
		}
	default:
		return nil, false, nil
	}
	if !plainList(reflect.TypeOf(shell)) {
		return nil, false, nil
	}
	la, err := meta.ListAccessor(shell)
	if err != nil {
		return nil, false, nil
	}
	lm := page.ListMeta()
	la.SetResourceVersion(lm.ResourceVersion)
	la.SetContinue(lm.Continue)
	la.SetRemainingItemCount(lm.RemainingItemCount)
	items := make([][]byte, len(page.Items))
	size := 0
	for i := range page.Items {
		if items[i], err = item(i); err != nil {
			return nil, false, err
		}
		size += len(items[i])
	}
	// A plain list that goes out compressed is compressed item by item
	// (see writeGzipList): the body records where each item is.
	units := out.As == "" && q.compresses(size)
	if out.Media == mediaJSON {
		body, err = q.jsonList(shell, items, size, units)
	} else {
		body, err = protoList(shell.GetObjectKind().GroupVersionKind(), lm, items, size, units)
	}
	if err != nil {
		return nil, false, err
	}
	if units {
		body.link = linkJSONItem
		if out.Media == mediaProtobuf {
			body.link = linkProtobufItem
		}
		for i := range body.units {
			body.units[i].enc = pageEnc(page, i)
		}
	}
	return body, true, nil
}

// pageEnc returns the cached forms of item i of page, or nil.
func pageEnc(page *registry.Page, i int) *storage.Encodings {
	if page.Encodings == nil {
		return nil
	}
	return page.Encodings[i]
}

// jsonList writes a list whose items are already JSON: the serializer
// encodes the list without items, and the items go between the brackets
// its (last) items field ends with.
func (q *req) jsonList(shell runtime.Object, items [][]byte, size int, units bool) (*chunks, error) {
	if err := meta.SetList(shell, []runtime.Object{}); err != nil {
		return nil, err
	}
	var head bytes.Buffer
	if err := q.h.Ser.JSON.Encode(shell, &head); err != nil {
		return nil, err
	}
	h := head.Bytes()
	const tail = "]}\n"
	if !bytes.HasSuffix(h, []byte("[]}\n")) {
		return nil, fmt.Errorf("%T does not end with its items", shell)
	}
	out := newChunks(2*len(items)+2, 0)
	if units {
		out.units = make([]unit, 0, len(items))
	}
	out.add(h[:len(h)-len(tail)])
	comma := []byte{','}
	for i, it := range items {
		start := len(out.parts)
		if i > 0 {
			out.add(comma)
		}
		out.add(it)
		if units {
			out.unit(start)
		}
	}
	out.add([]byte(tail))
	return out, nil
}

// protoList writes a list message (metadata is field 1, items field 2, as
// plainList checked) from item messages, in the envelope the protobuf
// serializer uses.
func protoList(gvk schema.GroupVersionKind, lm metav1.ListMeta, items [][]byte, size int, units bool) (*chunks, error) {
	lmb, err := lm.Marshal()
	if err != nil {
		return nil, err
	}
	raw := 1 + uvarintLen(len(lmb)) + len(lmb) + size
	for _, it := range items {
		raw += 1 + uvarintLen(len(it))
	}
	return protoEnvelope(gvk, raw, func(w *chunks) {
		if units {
			w.units = make([]unit, 0, len(items))
		}
		w.field(0x0a, lmb) // field 1, length-delimited
		for _, it := range items {
			start := len(w.parts)
			w.field(0x12, it) // field 2, length-delimited
			if units {
				w.unit(start)
			}
		}
	}), nil
}

// protoEnvelope wraps a message of rawSize bytes, added by writeRaw, in the
// runtime.Unknown envelope of kind gvk behind the protobuf prefix.
func protoEnvelope(gvk schema.GroupVersionKind, rawSize int, writeRaw func(*chunks)) *chunks {
	unk := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind}}
	w := newChunks(16, 64+len(unk.APIVersion)+len(unk.Kind))
	w.add(protoPrefix)
	// Writes to chunks do not fail.
	_, _ = unk.MarshalToWriter(w, rawSize, func(io.Writer) (int, error) {
		n := w.size
		writeRaw(w)
		return w.size - n, nil
	})
	return w
}

func uvarintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n))
}

// chunks is a response body as a sequence of byte slices that reference
// the cached forms instead of copying them. Small pieces (tags, lengths,
// what MarshalToWriter writes from a reused buffer) are copied into an
// arena that is only appended to, so earlier pieces stay valid.
type chunks struct {
	parts [][]byte
	arena []byte
	size  int
	// units are a list's items, each with what precedes it (a comma, a
	// protobuf tag and length), for compression item by item; link is
	// the linked slot their compressed forms go in; keep is false for
	// filtered lists, whose forms are not kept (see writeGzipList).
	units []unit
	link  int
	keep  bool
}

// unit is parts[start:end] of a list body: an item (the last part) and
// its separator.
type unit struct {
	start, end int
	enc        *storage.Encodings // where its forms are kept, or nil
}

// unit records parts[start:] as the unit of the item just added.
func (c *chunks) unit(start int) {
	c.units = append(c.units, unit{start: start, end: len(c.parts)})
}

// item returns the item of unit u.
func (c *chunks) item(u unit) []byte { return c.parts[u.end-1] }

func newChunks(parts, arena int) *chunks {
	return &chunks{parts: make([][]byte, 0, parts), arena: make([]byte, 0, arena)}
}

// add references p; the caller must not modify it afterwards.
func (c *chunks) add(p []byte) {
	c.parts = append(c.parts, p)
	c.size += len(p)
}

// Write copies p into the arena: io.Writers may reuse their argument.
func (c *chunks) Write(p []byte) (int, error) {
	start := len(c.arena)
	c.arena = append(c.arena, p...)
	c.add(c.arena[start:len(c.arena):len(c.arena)])
	return len(p), nil
}

// field adds a length-delimited protobuf field: its tag, length and value.
func (c *chunks) field(tag byte, value []byte) {
	start := len(c.arena)
	c.arena = append(c.arena, tag)
	c.arena = binary.AppendUvarint(c.arena, uint64(len(value)))
	c.add(c.arena[start:len(c.arena):len(c.arena)])
	c.add(value)
}

// join returns the body as one slice.
func (c *chunks) join() []byte {
	out := make([]byte, 0, c.size)
	for _, p := range c.parts {
		out = append(out, p...)
	}
	return out
}

// plainLists remembers plainList's answer per type.
var plainLists sync.Map // reflect.Type → bool

// plainList reports whether t (a pointer to a list struct) has exactly the
// layout the item splicing relies on: TypeMeta inline, ListMeta as
// "metadata" (protobuf field 1), then Items as "items" (field 2), last.
func plainList(t reflect.Type) bool {
	if v, ok := plainLists.Load(t); ok {
		return v.(bool)
	}
	ok := t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && t.Elem().NumField() == 3
	if ok {
		s := t.Elem()
		f0, f1, f2 := s.Field(0), s.Field(1), s.Field(2)
		ok = f0.Type == reflect.TypeOf(metav1.TypeMeta{}) && f0.Anonymous && (f0.Tag.Get("json") == "" || f0.Tag.Get("json") == ",inline") &&
			f1.Type == reflect.TypeOf(metav1.ListMeta{}) && f1.Tag.Get("json") == "metadata,omitempty" && f1.Tag.Get("protobuf") == "bytes,1,opt,name=metadata" &&
			f2.Name == "Items" && f2.Type.Kind() == reflect.Slice && f2.Tag.Get("json") == "items" && f2.Tag.Get("protobuf") == "bytes,2,rep,name=items"
	}
	plainLists.Store(t, ok)
	return ok
}

// itemJSON encodes a built-in object as an item of its list: without
// apiVersion and kind, which the list's items do not carry. The object is
// shared, so a shallow copy has its type cleared.
func itemJSON(obj runtime.Object) ([]byte, error) {
	if obj.GetObjectKind().GroupVersionKind().Empty() {
		return json.Marshal(obj)
	}
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("%T is not a pointer to a struct", obj)
	}
	c := reflect.New(v.Elem().Type())
	c.Elem().Set(v.Elem())
	o, ok := c.Interface().(runtime.Object)
	if !ok {
		return nil, fmt.Errorf("%T is not an object", obj)
	}
	o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	return json.Marshal(o)
}

// metaGroupVersion is the meta.k8s.io version of a transformation.
func metaGroupVersion(version string) schema.GroupVersion {
	if version == "v1beta1" {
		return schema.GroupVersion{Group: "meta.k8s.io", Version: "v1beta1"}
	}
	return metav1.SchemeGroupVersion
}

// partialObject is obj's PartialObjectMetadata of a meta.k8s.io version.
func partialObject(obj runtime.Object, version string) (*metav1.PartialObjectMetadata, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: metaGroupVersion(version).String(), Kind: "PartialObjectMetadata"},
		ObjectMeta: *objectMetaOf(acc),
	}, nil
}

// metaJSON is obj's PartialObjectMetadata as JSON (no newline), cached.
func metaJSON(obj runtime.Object, enc *storage.Encodings, version string) ([]byte, error) {
	slot := slotMetaJSONv1
	if version == "v1beta1" {
		slot = slotMetaJSONv1beta1
	}
	return enc.Get(slot, func() ([]byte, error) {
		pm, err := partialObject(obj, version)
		if err != nil {
			return nil, err
		}
		return json.Marshal(pm)
	})
}

// metaProtobuf is obj's PartialObjectMetadata message, cached.
func metaProtobuf(obj runtime.Object, enc *storage.Encodings) ([]byte, error) {
	return enc.Get(slotMetaProtobuf, func() ([]byte, error) {
		pm, err := partialObject(obj, "v1")
		if err != nil {
			return nil, err
		}
		return pm.Marshal()
	})
}

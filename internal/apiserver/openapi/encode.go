package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Encoding dominates the cost of a document, so documents are written
// directly: component schemas are encoded once per Go type and cached in the
// defBuilder, and the very regular paths are written by jsonWriter rather
// than by a reflective marshaller. Tests decode the result with
// kube-openapi's spec3 and gnostic to keep the writer honest.

// schemaJSON returns the JSON of definition name with schema s, from the
// cache when s is the builder's own (shared, never modified) schema.
func (b *defBuilder) schemaJSON(name string, s *spec.Schema, v2 bool) ([]byte, error) {
	b.mu.Lock()
	d, shared := b.byName[name]
	shared = shared && d.schema == s
	if shared {
		if raw := d.encoded[boolIndex(v2)]; raw != nil {
			b.mu.Unlock()
			return raw, nil
		}
	}
	b.mu.Unlock()
	src := *s
	if v2 {
		src = toV2Schema(src)
	}
	raw, err := src.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding definition %s: %w", name, err)
	}
	if shared {
		b.mu.Lock()
		d.encoded[boolIndex(v2)] = raw
		b.mu.Unlock()
	}
	return raw, nil
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// encodeV3 serialises the OpenAPI 3.0 document of one group-version.
func (b *defBuilder) encodeV3(title string, defs map[string]*spec.Schema, items []pathItem) ([]byte, error) {
	w := newJSONWriter(len(defs))
	w.raw(`{"openapi":"3.0.0","info":{"title":`)
	w.str(title)
	w.raw(`,"version":`)
	w.str(docVersion)
	w.raw(`},"paths":`)
	w.paths(items, false)
	w.raw(`,"components":{"schemas":`)
	if err := b.writeSchemas(w, defs, false); err != nil {
		return nil, err
	}
	w.raw(`}}`)
	return w.buf.Bytes(), nil
}

// encodeV2 serialises the Swagger 2.0 document of everything.
func (b *defBuilder) encodeV2(defs map[string]*spec.Schema, items []pathItem) ([]byte, error) {
	w := newJSONWriter(len(defs))
	w.raw(`{"swagger":"2.0","info":{"title":"Kubernetes","version":`)
	w.str(docVersion)
	w.raw(`},"paths":`)
	w.paths(items, true)
	w.raw(`,"definitions":`)
	if err := b.writeSchemas(w, defs, true); err != nil {
		return nil, err
	}
	w.raw(`,"securityDefinitions":{"BearerToken":{"description":"Bearer Token authentication","type":"apiKey","name":"authorization","in":"header"}},"security":[{"BearerToken":[]}]}`)
	return w.buf.Bytes(), nil
}

// writeSchemas writes {"name":schema,...} in name order.
func (b *defBuilder) writeSchemas(w *jsonWriter, defs map[string]*spec.Schema, v2 bool) error {
	names := make([]string, 0, len(defs))
	for n := range defs {
		names = append(names, n)
	}
	sort.Strings(names)
	w.raw("{")
	for i, n := range names {
		w.comma(i)
		w.str(n)
		w.raw(":")
		raw, err := b.schemaJSON(n, defs[n], v2)
		if err != nil {
			return err
		}
		w.buf.Write(raw)
	}
	w.raw("}")
	return nil
}

// jsonWriter appends JSON to a buffer, memoising encoded strings (the same
// descriptions and media types recur in every operation).
type jsonWriter struct {
	buf     bytes.Buffer
	strings map[string][]byte
}

func newJSONWriter(defs int) *jsonWriter {
	w := &jsonWriter{strings: map[string][]byte{}}
	w.buf.Grow(4096 * (defs + 1))
	return w
}

func (w *jsonWriter) raw(s string) { w.buf.WriteString(s) }

func (w *jsonWriter) comma(i int) {
	if i > 0 {
		w.buf.WriteByte(',')
	}
}

func (w *jsonWriter) str(s string) {
	enc, ok := w.strings[s]
	if !ok {
		enc, _ = json.Marshal(s) // a string always encodes
		w.strings[s] = enc
	}
	w.buf.Write(enc)
}

func (w *jsonWriter) strList(list []string) {
	w.raw("[")
	for i, s := range list {
		w.comma(i)
		w.str(s)
	}
	w.raw("]")
}

func (w *jsonWriter) ref(v2 bool, def string) {
	prefix := v3RefPrefix
	if v2 {
		prefix = v2RefPrefix
	}
	w.raw(`{"$ref":`)
	w.str(prefix + def)
	w.raw("}")
}

func (w *jsonWriter) paths(items []pathItem, v2 bool) {
	sorted := append([]pathItem(nil), items...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].path < sorted[j].path })
	w.raw("{")
	for i, it := range sorted {
		w.comma(i)
		w.str(it.path)
		w.raw(":{")
		for j, o := range it.ops {
			w.comma(j)
			w.str(o.method)
			w.raw(":")
			w.operation(o, v2)
		}
		if len(it.params) > 0 {
			w.comma(len(it.ops))
			w.raw(`"parameters":[`)
			for j, p := range it.params {
				w.comma(j)
				w.param(p, v2)
			}
			w.raw("]")
		}
		w.raw("}")
	}
	w.raw("}")
}

func (w *jsonWriter) param(p param, v2 bool) {
	w.raw(`{"name":`)
	w.str(p.name)
	w.raw(`,"in":`)
	w.str(p.in)
	if p.desc != "" {
		w.raw(`,"description":`)
		w.str(p.desc)
	}
	if p.required {
		w.raw(`,"required":true`)
	}
	if v2 {
		w.raw(`,"type":`)
		w.str(p.typ)
		if p.unique {
			w.raw(`,"uniqueItems":true`)
		}
	} else {
		w.raw(`,"schema":{"type":`)
		w.str(p.typ)
		if p.unique {
			w.raw(`,"uniqueItems":true`)
		}
		w.raw("}")
	}
	w.raw("}")
}

func (w *jsonWriter) operation(o operation, v2 bool) {
	w.raw(`{"tags":`)
	w.strList([]string{o.tag})
	w.raw(`,"description":`)
	w.str(o.desc)
	w.raw(`,"operationId":`)
	w.str(o.id)
	bodyTypes := o.patchTypes
	if len(bodyTypes) == 0 {
		bodyTypes = []string{"*/*"}
	}
	if v2 {
		w.raw(`,"consumes":`)
		w.strList(bodyTypes)
		w.raw(`,"produces":`)
		w.strList(o.produces)
		w.raw(`,"schemes":["https"]`)
	}
	w.raw(`,"parameters":[`)
	n := 0
	if v2 && o.body != "" {
		w.raw(`{"name":"body","in":"body"`)
		if o.bodyReq {
			w.raw(`,"required":true`)
		}
		w.raw(`,"schema":`)
		w.ref(true, o.body)
		w.raw("}")
		n++
	}
	for _, p := range o.query {
		w.comma(n)
		w.param(p, v2)
		n++
	}
	w.raw("]")
	if !v2 && o.body != "" {
		w.raw(`,"requestBody":{"content":{`)
		for i, t := range bodyTypes {
			w.comma(i)
			w.str(t)
			w.raw(`:{"schema":`)
			w.ref(false, o.body)
			w.raw("}")
		}
		w.raw("}")
		if o.bodyReq {
			w.raw(`,"required":true`)
		}
		w.raw("}")
	}
	w.raw(`,"responses":{`)
	for i, r := range o.responses {
		w.comma(i)
		w.raw(`"` + strconv.Itoa(r.code) + `":{"description":`)
		w.str(statusText(r.code))
		if v2 {
			w.raw(`,"schema":`)
			w.ref(true, r.def)
		} else {
			w.raw(`,"content":{`)
			for j, t := range o.produces {
				w.comma(j)
				w.str(t)
				w.raw(`:{"schema":`)
				w.ref(false, r.def)
				w.raw("}")
			}
			w.raw("}")
		}
		w.raw("}")
	}
	w.comma(len(o.responses))
	w.raw(`"401":{"description":"Unauthorized"}}`)
	if o.deprecated {
		w.raw(`,"deprecated":true`)
	}
	w.raw(`,"x-kubernetes-action":`)
	w.str(o.action)
	w.raw(`,"x-kubernetes-group-version-kind":`)
	w.gvk(o.gvk)
	w.raw("}")
}

func (w *jsonWriter) gvk(k schema.GroupVersionKind) {
	w.raw(`{"group":`)
	w.str(k.Group)
	w.raw(`,"kind":`)
	w.str(k.Kind)
	w.raw(`,"version":`)
	w.str(k.Version)
	w.raw("}")
}

func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	}
	return "Unauthorized"
}

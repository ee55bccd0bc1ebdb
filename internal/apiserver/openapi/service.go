package openapi

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Service builds and serves the OpenAPI documents of a set of resources.
// The zero value is not usable; use NewService. It is safe for concurrent
// use: SetResources may run while requests are served.
type Service struct {
	defs  *defBuilder
	mu    sync.Mutex // serialises SetResources
	state atomic.Pointer[state]
	// ext, if set, adds the documents of aggregated servers.
	ext Externals
	mergedState
}

// state is an immutable snapshot of the served resources; the documents in
// it are built on first use and then kept.
type state struct {
	gvs    []*gvEntry // sorted by document path
	byPath map[string]*gvEntry
	v2     *v2Entry
	index  lazy[[]byte]
}

// gvEntry is the document of one group-version, built on first use.
type gvEntry struct {
	gv          schema.GroupVersion
	fingerprint string
	resources   []Resource
	doc         lazy[*gvDoc]
}

// v2Entry is the Swagger 2.0 document of everything, built on first use.
type v2Entry struct {
	entries []*gvEntry
	json    lazy[*encoded]
	pb      lazy[*encoded]
}

// encoded is a serialised document with its content hash.
type encoded struct {
	body []byte
	hash string
	err  error
}

// gvDoc is the built OpenAPI v3 document of a group-version.
type gvDoc struct {
	encoded
	schemas map[string]*spec.Schema              // decorated, as served
	base    map[string]*spec.Schema              // without GVK extensions
	gvks    map[string][]schema.GroupVersionKind // definition → kinds
	paths   []pathItem
}

// lazy computes a value once, on first get.
type lazy[T any] struct {
	once sync.Once
	v    T
}

func (l *lazy[T]) get(f func() T) T {
	l.once.Do(func() { l.v = f() })
	return l.v
}

// NewService returns a Service that serves no resources until SetResources.
func NewService() *Service {
	s := &Service{defs: newDefBuilder()}
	s.state.Store(newState(nil, nil))
	return s
}

// SetResources replaces the whole set of served resources. It is cheap:
// documents are rebuilt lazily, and only for group-versions whose resources
// changed, so their index hashes change exactly when their content does.
func (s *Service) SetResources(rs []Resource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.state.Load()

	grouped := map[schema.GroupVersion][]Resource{}
	for _, r := range rs {
		if r.GoType != nil {
			r.GoType = deref(r.GoType)
		}
		if r.GoListType != nil {
			r.GoListType = deref(r.GoListType)
		}
		r.CRDSchema = r.CRDSchema.DeepCopy()
		r.Verbs = append([]string(nil), r.Verbs...)
		r.Subresources = append([]string(nil), r.Subresources...)
		gv := r.GVK.GroupVersion()
		grouped[gv] = append(grouped[gv], r)
	}
	var entries []*gvEntry
	for gv, list := range grouped {
		sort.Slice(list, func(i, j int) bool {
			if list[i].GVK.Kind != list[j].GVK.Kind {
				return list[i].GVK.Kind < list[j].GVK.Kind
			}
			return list[i].Plural < list[j].Plural
		})
		var fp strings.Builder
		for i := range list {
			fp.WriteString(list[i].fingerprint())
			fp.WriteByte('\n')
		}
		e := &gvEntry{gv: gv, fingerprint: fp.String(), resources: list}
		if prev, ok := old.byPath[gvDocPath(gv)]; ok && prev.fingerprint == e.fingerprint {
			e = prev
		}
		entries = append(entries, e)
	}
	s.state.Store(newState(entries, old.v2))
}

// newState indexes entries; the previous v2 document is kept when it was
// built from exactly the same entries.
func newState(entries []*gvEntry, prevV2 *v2Entry) *state {
	sort.Slice(entries, func(i, j int) bool { return gvDocPath(entries[i].gv) < gvDocPath(entries[j].gv) })
	st := &state{gvs: entries, byPath: make(map[string]*gvEntry, len(entries))}
	for _, e := range entries {
		st.byPath[gvDocPath(e.gv)] = e
	}
	st.v2 = &v2Entry{entries: entries}
	if prevV2 != nil && len(prevV2.entries) == len(entries) {
		same := true
		for i := range entries {
			same = same && prevV2.entries[i] == entries[i]
		}
		if same {
			st.v2 = prevV2
		}
	}
	return st
}

// Schemas returns the component schemas of the OpenAPI v3 document of gv,
// keyed by definition name, with $refs of the form
// "#/components/schemas/<name>" — the input managedfields.NewTypeConverter
// expects. It returns nil when gv is not served. The map and schemas are
// shared with the served document and must not be modified.
func (s *Service) Schemas(gv schema.GroupVersion) map[string]*spec.Schema {
	e, ok := s.state.Load().byPath[gvDocPath(gv)]
	if !ok {
		return nil
	}
	return s.gvDoc(e).schemas
}

// gvDoc builds (once) and returns the document of e.
func (s *Service) gvDoc(e *gvEntry) *gvDoc {
	return e.doc.get(func() *gvDoc { return s.buildGV(e.gv, e.resources) })
}

// buildGV assembles the definitions and paths of one group-version.
func (s *Service) buildGV(gv schema.GroupVersion, resources []Resource) *gvDoc {
	d := &gvDoc{base: map[string]*spec.Schema{}, gvks: map[string][]schema.GroupVersionKind{}}
	addGVK := func(def string, gvk schema.GroupVersionKind) {
		for _, x := range d.gvks[def] {
			if x == gvk {
				return
			}
		}
		d.gvks[def] = append(d.gvks[def], gvk)
	}
	roots := []string{defStatus, defDeleteOptions, defWatchEvent, defPatch, defObjectMeta, defListMeta}
	for _, t := range metaTypes() {
		s.defs.define(t)
	}
	crdDefs := map[string]*spec.Schema{}
	for i := range resources {
		r := &resources[i]
		rr := &resolvedResource{r: r, subKinds: map[string]string{}}
		if r.isCRD() {
			kn, ks, ln, ls, err := crdKindSchemas(r)
			if err != nil {
				// Cannot happen for a decoded CRD; serve an open object
				// rather than nothing.
				open := *r
				open.CRDSchema, open.PreserveUnknownFields = nil, true
				kn, ks, ln, ls, _ = crdKindSchemas(&open)
			}
			crdDefs[kn], crdDefs[ln] = ks, ls
			rr.kindDef, rr.listDef = kn, ln
		} else {
			rr.kindDef = s.defs.define(r.GoType)
			roots = append(roots, rr.kindDef)
			if r.GoListType != nil {
				rr.listDef = s.defs.define(r.GoListType)
				roots = append(roots, rr.listDef)
			}
		}
		addGVK(rr.kindDef, r.GVK)
		if rr.listDef != "" {
			addGVK(rr.listDef, r.GVK.GroupVersion().WithKind(r.listKind()))
		}
		for _, sub := range r.Subresources {
			if info, ok := subresourceInfo(sub); ok && info.goType != nil {
				n := s.defs.define(info.goType)
				rr.subKinds[sub] = n
				roots = append(roots, n)
				addGVK(n, info.gvk)
			}
		}
		d.paths = append(d.paths, resourcePaths(rr)...)
	}
	addGVK(defStatus, schema.GroupVersionKind{Version: "v1", Kind: "Status"})
	addGVK(defDeleteOptions, gv.WithKind("DeleteOptions"))
	addGVK(defWatchEvent, gv.WithKind("WatchEvent"))

	s.defs.closure(roots, d.base)
	for n, sc := range crdDefs {
		d.base[n] = sc
	}
	d.schemas = decorate(d.base, d.gvks)
	d.encoded = encode(s.defs.encodeV3(gvDocPath(gv), d.schemas, d.paths))
	return d
}

// decorate returns defs with the x-kubernetes-group-version-kind extension
// set on the definitions in gvks. Decorated schemas are copies, so the
// shared per-type cache stays untouched.
func decorate(defs map[string]*spec.Schema, gvks map[string][]schema.GroupVersionKind) map[string]*spec.Schema {
	out := make(map[string]*spec.Schema, len(defs))
	for n, sc := range defs {
		kinds, ok := gvks[n]
		if !ok {
			out[n] = sc
			continue
		}
		sorted := append([]schema.GroupVersionKind(nil), kinds...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].String() < sorted[j].String() })
		list := make([]interface{}, len(sorted))
		for i, k := range sorted {
			list[i] = gvkExtension(k)
		}
		c := *sc
		c.Extensions = make(spec.Extensions, len(sc.Extensions)+1)
		for k, v := range sc.Extensions {
			c.Extensions[k] = v
		}
		c.Extensions[extGVK] = list
		out[n] = &c
	}
	return out
}

// encode hashes a serialised document; the hash is SHA-512 in upper-case
// hex, as kube-apiserver publishes it.
func encode(body []byte, err error) encoded {
	if err != nil {
		return encoded{err: err}
	}
	sum := sha512.Sum512(body)
	return encoded{body: body, hash: strings.ToUpper(hex.EncodeToString(sum[:]))}
}

// index returns the /openapi/v3 discovery document; it needs every
// group-version's hash, so it builds all documents not yet built.
func (s *Service) index(st *state) []byte {
	return st.index.get(func() []byte {
		type entry struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		}
		paths := make(map[string]entry, len(st.gvs))
		for _, e := range st.gvs {
			d := s.gvDoc(e)
			p := gvDocPath(e.gv)
			paths[p] = entry{ServerRelativeURL: "/openapi/v3/" + p + "?hash=" + d.hash}
		}
		body, err := json.Marshal(map[string]interface{}{"paths": paths})
		if err != nil {
			// A map of strings always encodes.
			panic(fmt.Sprintf("openapi: encoding index: %v", err))
		}
		return body
	})
}

// v2JSON builds (once) the Swagger 2.0 document of every group-version.
func (s *Service) v2JSON(v *v2Entry) *encoded {
	return v.json.get(func() *encoded {
		base := map[string]*spec.Schema{}
		gvks := map[string][]schema.GroupVersionKind{}
		var paths []pathItem
		for _, e := range v.entries {
			d := s.gvDoc(e)
			for n, sc := range d.base {
				base[n] = sc
			}
			for n, kinds := range d.gvks {
				for _, k := range kinds {
					if !containsGVK(gvks[n], k) {
						gvks[n] = append(gvks[n], k)
					}
				}
			}
			paths = append(paths, d.paths...)
		}
		enc := encode(s.defs.encodeV2(decorate(base, gvks), paths))
		return &enc
	})
}

// v2Proto converts the Swagger 2.0 JSON document into gnostic's protobuf
// form, which kubectl requests when it client-side-applies custom resources.
func (s *Service) v2Proto(v *v2Entry) *encoded {
	return v.pb.get(func() *encoded {
		j := s.v2JSON(v)
		if j.err != nil {
			return j
		}
		doc, err := openapi_v2.ParseDocument(j.body)
		if err != nil {
			return &encoded{err: fmt.Errorf("parsing the OpenAPI v2 document with gnostic: %w", err)}
		}
		enc := encode(proto.Marshal(doc))
		return &enc
	})
}

func containsGVK(list []schema.GroupVersionKind, k schema.GroupVersionKind) bool {
	for _, x := range list {
		if x == k {
			return true
		}
	}
	return false
}

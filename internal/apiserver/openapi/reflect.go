package openapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	generatedopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	aggregatoropenapi "k8s.io/kube-aggregator/pkg/generated/openapi"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Extension keys kubectl, strategic merge patch and server-side apply read.
const (
	extGVK            = "x-kubernetes-group-version-kind"
	extPatchStrategy  = "x-kubernetes-patch-strategy"
	extPatchMergeKey  = "x-kubernetes-patch-merge-key"
	extListType       = "x-kubernetes-list-type"
	extListMapKeys    = "x-kubernetes-list-map-keys"
	extMapType        = "x-kubernetes-map-type"
	extIntOrString    = "x-kubernetes-int-or-string"
	extPreserveFields = "x-kubernetes-preserve-unknown-fields"
	extAction         = "x-kubernetes-action"
	v3RefPrefix       = "#/components/schemas/"
	v2RefPrefix       = "#/definitions/"
)

// Definition names of the apimachinery types the documents always carry.
const (
	defObjectMeta    = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
	defListMeta      = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
	defStatus        = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
	defDeleteOptions = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
	defWatchEvent    = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"
	defPatch         = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
)

// typeDef is the cached component schema of one Go struct type. Its schema
// uses OpenAPI v3 references and is never modified once built.
type typeDef struct {
	name   string
	schema *spec.Schema
	deps   []string // names of the definitions the schema refers to
	// encoded caches the schema's JSON: [0] OpenAPI v3, [1] Swagger 2.0.
	encoded [2][]byte
}

// defBuilder turns Go types into named component schemas, once per type.
// It is safe for concurrent use.
type defBuilder struct {
	mu     sync.Mutex
	byType map[reflect.Type]*typeDef
	byName map[string]*typeDef
	// generated holds the generated OpenAPI definitions shipped with
	// apiextensions-apiserver and kube-aggregator, loaded on first need: their types have no
	// SwaggerDoc methods, so this is where their descriptions come from.
	generated map[string]common.OpenAPIDefinition
}

func newDefBuilder() *defBuilder {
	return &defBuilder{byType: map[reflect.Type]*typeDef{}, byName: map[string]*typeDef{}}
}

// define returns the definition name of struct type t, building its schema
// and those of the types it refers to on first use.
func (b *defBuilder) define(t reflect.Type) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.defineLocked(deref(t))
}

// closure adds the definitions named in roots and everything they refer to
// into out.
func (b *defBuilder) closure(roots []string, out map[string]*spec.Schema) {
	b.mu.Lock()
	defer b.mu.Unlock()
	stack := append([]string(nil), roots...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, done := out[n]; done {
			continue
		}
		d, ok := b.byName[n]
		if !ok {
			continue
		}
		out[n] = d.schema
		stack = append(stack, d.deps...)
	}
}

func (b *defBuilder) defineLocked(t reflect.Type) string {
	if d, ok := b.byType[t]; ok {
		return d.name
	}
	d := &typeDef{name: definitionName(t)}
	// Registered before the fields are visited so recursive types
	// (JSONSchemaProps) terminate.
	b.byType[t] = d
	b.byName[d.name] = d
	deps := map[string]bool{}
	d.schema = b.structSchema(t, deps)
	for n := range deps {
		if n != d.name {
			d.deps = append(d.deps, n)
		}
	}
	return d.name
}

// modelNamer is implemented by the k8s.io wire types (generated).
type modelNamer interface{ OpenAPIModelName() string }

// definitionName names a Go type the way kube-apiserver does: the package
// path with its host reversed ("k8s.io/api/core/v1" → "io.k8s.api.core.v1")
// followed by the type name. The type's own OpenAPIModelName wins.
func definitionName(t reflect.Type) string {
	if n, ok := reflect.Zero(t).Interface().(modelNamer); ok {
		return n.OpenAPIModelName()
	}
	parts := strings.Split(t.PkgPath(), "/")
	host := strings.Split(parts[0], ".")
	for i, j := 0, len(host)-1; i < j; i, j = i+1, j-1 {
		host[i], host[j] = host[j], host[i]
	}
	out := append(host, parts[1:]...)
	return strings.Join(append(out, t.Name()), ".")
}

// swaggerDocer is implemented by the k8s.io/api types; the map holds the
// type's description under "" and each field's under its json name.
type swaggerDocer interface{ SwaggerDoc() map[string]string }

// openAPITyper is implemented by wire types with custom JSON encodings.
type openAPITyper interface {
	OpenAPISchemaType() []string
	OpenAPISchemaFormat() string
}

// docs returns the descriptions of struct t: "" for the type, json field
// names for its fields.
func (b *defBuilder) docs(t reflect.Type) map[string]string {
	if d, ok := reflect.Zero(t).Interface().(swaggerDocer); ok {
		return d.SwaggerDoc()
	}
	if d, ok := reflect.New(t).Interface().(swaggerDocer); ok {
		return d.SwaggerDoc()
	}
	if !strings.HasPrefix(t.PkgPath(), "k8s.io/apiextensions-apiserver/") && !strings.HasPrefix(t.PkgPath(), "k8s.io/kube-aggregator/") {
		return nil
	}
	if b.generated == nil {
		ref := func(name string) spec.Ref { return spec.MustCreateRef(v3RefPrefix + name) }
		b.generated = generatedopenapi.GetOpenAPIDefinitions(ref)
		// APIService and its parts (kube-aggregator's types).
		for name, def := range aggregatoropenapi.GetOpenAPIDefinitions(ref) {
			b.generated[name] = def
		}
	}
	def, ok := b.generated[definitionName(t)]
	if !ok {
		return nil
	}
	out := map[string]string{"": def.Schema.Description}
	for name, p := range def.Schema.Properties {
		out[name] = p.Description
	}
	return out
}

// specialSchema returns the schema of wire types whose JSON form is not
// their struct layout, keyed by definition name.
func specialSchema(name string) (spec.Schema, bool) {
	var s spec.Schema
	switch name {
	case "io.k8s.apimachinery.pkg.api.resource.Quantity":
		s.Description = "Quantity is a fixed-point number such as \"100m\", \"2Gi\" or 5, written as a string or a number."
		s.AddExtension(extIntOrString, true)
	case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
		s.Description = "IntOrString holds either an integer or a string."
		s.Format = "int-or-string"
		s.AddExtension(extIntOrString, true)
	case "io.k8s.apimachinery.pkg.apis.meta.v1.Time":
		s.Description = "Time is an RFC 3339 timestamp with second precision, e.g. \"2024-01-02T15:04:05Z\"."
		s.Type, s.Format = spec.StringOrArray{"string"}, "date-time"
	case "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime":
		s.Description = "MicroTime is an RFC 3339 timestamp with microsecond precision."
		s.Type, s.Format = spec.StringOrArray{"string"}, "date-time"
	case "io.k8s.apimachinery.pkg.apis.meta.v1.Duration":
		s.Description = "Duration is a Go duration string such as \"1h30m\"."
		s.Type = spec.StringOrArray{"string"}
	case "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1":
		s.Description = "FieldsV1 stores a set of fields in a trie-like JSON object (server-side apply field ownership)."
		s.Type = spec.StringOrArray{"object"}
	case "io.k8s.apimachinery.pkg.runtime.RawExtension":
		s.Description = "RawExtension holds an embedded object of any kind."
		s.Type = spec.StringOrArray{"object"}
		s.AddExtension(extPreserveFields, true)
	default:
		return s, false
	}
	return s, true
}

// structSchema builds the component schema of named struct type t.
func (b *defBuilder) structSchema(t reflect.Type, deps map[string]bool) *spec.Schema {
	s, ok := specialSchema(definitionName(t))
	if ok {
		return &s
	}
	doc := b.docs(t)
	s.Description = doc[""]
	if typer, ok := reflect.Zero(t).Interface().(openAPITyper); ok {
		s.Type = spec.StringOrArray(typer.OpenAPISchemaType())
		s.Format = typer.OpenAPISchemaFormat()
		return &s
	}
	if reflect.PointerTo(t).Implements(jsonMarshalerType) || t.Implements(jsonMarshalerType) {
		// A custom encoding we know nothing about: accept any value.
		return &s
	}
	s.Type = spec.StringOrArray{"object"}
	s.Properties = map[string]spec.Schema{}
	b.addFields(t, doc, &s, deps)
	if len(s.Properties) == 0 {
		s.Properties = nil
	}
	if o, ok := mapTypeOverride(definitionName(t)); ok {
		s.AddExtension(extMapType, o)
	}
	return &s
}

var jsonMarshalerType = reflect.TypeFor[json.Marshaler]()

// neverRequired are fields servers fill in or clients may leave out even
// though the Go type has no omitempty.
func neverRequired(name string) bool {
	switch name {
	case "metadata", "apiVersion", "kind", "status":
		return true
	}
	return false
}

// addFields adds the json fields of struct t to s, flattening inline
// (embedded) structs into the same object.
func (b *defBuilder) addFields(t reflect.Type, doc map[string]string, s *spec.Schema, deps map[string]bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		inline := strings.Contains(","+opts+",", ",inline,")
		if (f.Anonymous && name == "") || inline {
			if ft := deref(f.Type); ft.Kind() == reflect.Struct {
				b.addFields(ft, b.docs(ft), s, deps)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs := b.typeSchema(f.Type, deps)
		desc := doc[name]
		strategy, mergeKey := f.Tag.Get("patchStrategy"), f.Tag.Get("patchMergeKey")
		if strategy != "" {
			fs.AddExtension(extPatchStrategy, strategy)
		}
		if mergeKey != "" {
			fs.AddExtension(extPatchMergeKey, mergeKey)
		}
		if deref(f.Type).Kind() == reflect.Slice && strings.Contains(strategy, "merge") {
			b.addListType(&fs, deref(f.Type).Elem(), mergeKey)
		}
		if fs.Ref.String() != "" && desc != "" {
			// OpenAPI 3.0 ignores siblings of $ref, so a described
			// reference is wrapped the way kube-apiserver does it.
			fs = spec.Schema{SchemaProps: spec.SchemaProps{AllOf: []spec.Schema{{SchemaProps: spec.SchemaProps{Ref: fs.Ref}}}}, VendorExtensible: fs.VendorExtensible}
		}
		fs.Description = desc
		if d, ok := fieldDefault(definitionName(t), name); ok {
			fs.Default = d
		}
		s.Properties[name] = fs
		if !strings.Contains(","+opts+",", ",omitempty,") && !strings.Contains(","+opts+",", ",omitzero,") && !neverRequired(name) {
			s.Required = append(s.Required, name)
		}
	}
}

// addListType marks a merge-patched list for server-side apply: a list of
// structs keyed by the merge key is a map, a list of scalars a set.
func (b *defBuilder) addListType(s *spec.Schema, elem reflect.Type, mergeKey string) {
	elem = deref(elem)
	switch {
	case elem.Kind() == reflect.Struct && mergeKey != "":
		keys := []interface{}{mergeKey}
		if k, ok := listKeysOverride(definitionName(elem)); ok {
			keys = k
		}
		s.AddExtension(extListType, "map")
		s.AddExtension(extListMapKeys, keys)
	case elem.Kind() != reflect.Struct && elem.Kind() != reflect.Slice && elem.Kind() != reflect.Map:
		s.AddExtension(extListType, "set")
	}
}

// listKeysOverride lists the associative-list keys kube-apiserver uses where
// the patch merge key alone does not identify an element (a port number is
// unique only together with its protocol).
func listKeysOverride(elemDef string) ([]interface{}, bool) {
	switch elemDef {
	case "io.k8s.api.core.v1.ContainerPort":
		return []interface{}{"containerPort", "protocol"}, true
	case "io.k8s.api.core.v1.ServicePort":
		return []interface{}{"port", "protocol"}, true
	case "io.k8s.api.core.v1.TopologySpreadConstraint":
		return []interface{}{"topologyKey", "whenUnsatisfiable"}, true
	}
	return nil, false
}

// fieldDefault gives list-map key fields the server-side default, so that
// server-side apply can key elements that omit them.
func fieldDefault(def, field string) (interface{}, bool) {
	if field == "protocol" && (def == "io.k8s.api.core.v1.ContainerPort" || def == "io.k8s.api.core.v1.ServicePort") {
		return "TCP", true
	}
	return nil, false
}

// mapTypeOverride marks structs that server-side apply treats as one value.
func mapTypeOverride(def string) (string, bool) {
	if def == "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector" {
		return "atomic", true
	}
	return "", false
}

// typeSchema is the schema of a field of Go type t: inline for scalars,
// slices and maps, a $ref for named structs.
func (b *defBuilder) typeSchema(t reflect.Type, deps map[string]bool) spec.Schema {
	t = deref(t)
	var s spec.Schema
	switch t.Kind() {
	case reflect.Bool:
		s.Type = spec.StringOrArray{"boolean"}
	case reflect.Int, reflect.Int32, reflect.Int16, reflect.Int8, reflect.Uint16, reflect.Uint8:
		s.Type, s.Format = spec.StringOrArray{"integer"}, "int32"
	case reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Uint:
		s.Type, s.Format = spec.StringOrArray{"integer"}, "int64"
	case reflect.Float32:
		s.Type, s.Format = spec.StringOrArray{"number"}, "float"
	case reflect.Float64:
		s.Type, s.Format = spec.StringOrArray{"number"}, "double"
	case reflect.String:
		s.Type = spec.StringOrArray{"string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			s.Type, s.Format = spec.StringOrArray{"string"}, "byte"
			break
		}
		item := b.typeSchema(t.Elem(), deps)
		s.Type = spec.StringOrArray{"array"}
		s.Items = &spec.SchemaOrArray{Schema: &item}
	case reflect.Map:
		val := b.typeSchema(t.Elem(), deps)
		s.Type = spec.StringOrArray{"object"}
		s.AdditionalProperties = &spec.SchemaOrBool{Allows: true, Schema: &val}
	case reflect.Struct:
		if t.Name() == "" {
			// Anonymous structs do not occur in the wire types; treat one
			// as a free-form object rather than failing.
			s.Type = spec.StringOrArray{"object"}
			break
		}
		n := b.defineLocked(t)
		deps[n] = true
		s.Ref = spec.MustCreateRef(v3RefPrefix + n)
	default:
		// interface{} and anything else: any JSON value.
	}
	return s
}

// metaTypes are the apimachinery types every document carries: error and
// delete bodies, watch events, patch bodies and object/list metadata.
func metaTypes() []reflect.Type {
	return []reflect.Type{
		reflect.TypeFor[metav1.Status](), reflect.TypeFor[metav1.DeleteOptions](),
		reflect.TypeFor[metav1.WatchEvent](), reflect.TypeFor[metav1.Patch](),
		reflect.TypeFor[metav1.ObjectMeta](), reflect.TypeFor[metav1.ListMeta](),
	}
}

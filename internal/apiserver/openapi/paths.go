package openapi

import (
	"reflect"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// param is a request parameter, rendered as OpenAPI v3 or Swagger 2.0.
type param struct {
	name, in, typ, desc string
	required            bool
	unique              bool
}

// response is one status code of an operation and the definition returned.
type response struct {
	code int
	def  string
}

// operation is one HTTP method on a path, independent of the OpenAPI
// dialect it is rendered in.
type operation struct {
	method     string // lower case: get, put, post, delete, patch
	id         string
	action     string // x-kubernetes-action
	gvk        schema.GroupVersionKind
	query      []param
	body       string // definition name of the request body, "" for none
	bodyReq    bool
	patchTypes []string // PATCH only: the accepted patch media types
	responses  []response
	produces   []string
	deprecated bool
	desc       string
	tag        string
}

// pathItem is a URL path template with its shared parameters.
type pathItem struct {
	path   string
	params []param
	ops    []operation
}

func queryParam(name, typ, desc string) param {
	return param{name: name, in: "query", typ: typ, desc: desc, unique: true}
}

// Query parameters, built by functions so no slice is shared mutable state.
func pPretty() param {
	return queryParam("pretty", "string", "If 'true', then the output is pretty printed.")
}

func pDryRun() param {
	return queryParam("dryRun", "string", "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed")
}

func pFieldManager() param {
	return queryParam("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.")
}

// pFieldValidation() must be declared on every write operation: kubectl's
// QueryParamVerifier looks for it before sending fieldValidation=Strict.
func pFieldValidation() param {
	return queryParam("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: silently drops unknown fields; - Warn: sends a warning for each unknown or duplicate field; - Strict: fails the request on unknown or duplicate fields.")
}

func listParams() []param {
	return []param{
		queryParam("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag."),
		queryParam("continue", "string", "The continue option should be set when retrieving more results from the server, with the value of metadata.continue of the previous list response."),
		queryParam("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields. Defaults to everything."),
		queryParam("labelSelector", "string", "A selector to restrict the list of returned objects by their labels. Defaults to everything."),
		queryParam("limit", "integer", "limit is a maximum number of responses to return for a list call; more results are fetched with the continue token."),
		queryParam("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be served from. Defaults to unset."),
		queryParam("resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied to list calls."),
		queryParam("sendInitialEvents", "boolean", "sendInitialEvents=true may be set together with watch=true to begin the watch stream with synthetic events for the current state."),
		queryParam("timeoutSeconds", "integer", "Timeout for the list/watch call, regardless of any activity or inactivity."),
		queryParam("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."),
	}
}

func deleteParams() []param {
	return []param{
		pDryRun(),
		queryParam("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted. Zero means delete immediately."),
		queryParam("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean", "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error."),
		queryParam("orphanDependents", "boolean", "Deprecated: please use the PropagationPolicy. Should the dependent objects be orphaned."),
		queryParam("propagationPolicy", "string", "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
	}
}

func writeParams() []param { return []param{pDryRun(), pFieldManager(), pFieldValidation()} }

func patchParams() []param {
	return append(writeParams(), queryParam("force", "boolean", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests."))
}

// mediaTypes returns what a resource's operations produce and, for PATCH,
// consume. Strategic merge patch exists only for built-in kinds; kubectl
// picks the patch type from this list.
func mediaTypes(crd bool) (produces, patch []string) {
	if crd {
		return []string{"application/json", "application/yaml"},
			[]string{"application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"}
	}
	return []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"},
		[]string{"application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"}
}

func watchProduces() []string {
	return []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"}
}

// subresourceKind describes the body of a subresource that has one.
type subresourceKind struct {
	goType  reflect.Type            // nil: the parent kind itself
	gvk     schema.GroupVersionKind // zero: the parent's
	methods []string                // HTTP methods, lower case
}

// subresourceInfo knows the subresources whose request bodies are objects;
// connect-style subresources (log, exec, proxy, ...) are not described.
func subresourceInfo(name string) (subresourceKind, bool) {
	rw := []string{"get", "put", "patch"}
	switch name {
	case "status", "approval", "ephemeralcontainers", "resize":
		return subresourceKind{methods: rw}, true
	case "scale":
		return subresourceKind{goType: reflect.TypeOf(autoscalingv1.Scale{}), gvk: autoscalingv1.SchemeGroupVersion.WithKind("Scale"), methods: rw}, true
	case "finalize":
		return subresourceKind{methods: []string{"put"}}, true
	case "token":
		return subresourceKind{goType: reflect.TypeOf(authenticationv1.TokenRequest{}), gvk: authenticationv1.SchemeGroupVersion.WithKind("TokenRequest"), methods: []string{"post"}}, true
	case "eviction":
		return subresourceKind{goType: reflect.TypeOf(policyv1.Eviction{}), gvk: policyv1.SchemeGroupVersion.WithKind("Eviction"), methods: []string{"post"}}, true
	case "binding":
		return subresourceKind{goType: reflect.TypeOf(corev1.Binding{}), gvk: corev1.SchemeGroupVersion.WithKind("Binding"), methods: []string{"post"}}, true
	}
	return subresourceKind{}, false
}

// gvPrefix is the URL prefix of a group-version: /api/v1 or /apis/g/v.
func gvPrefix(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

// gvDocPath is the key of a group-version in the /openapi/v3 index.
func gvDocPath(gv schema.GroupVersion) string { return strings.TrimPrefix(gvPrefix(gv), "/") }

// camel turns "rbac.authorization.k8s.io" into "RbacAuthorization" and ""
// into "Core", the way kube-apiserver forms operation IDs and tags.
func camel(group string) string {
	if group == "" {
		return "Core"
	}
	group = strings.TrimSuffix(group, ".k8s.io")
	var b strings.Builder
	for _, p := range strings.FieldsFunc(group, func(r rune) bool { return r == '.' || r == '-' }) {
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

func tagOf(gv schema.GroupVersion) string {
	g := gv.Group
	if g == "" {
		g = "core"
	}
	g = strings.ReplaceAll(strings.TrimSuffix(g, ".k8s.io"), ".", "")
	return strings.ReplaceAll(g, "-", "") + "_" + gv.Version
}

// resolvedResource is a resource with the definition names of its kinds.
type resolvedResource struct {
	r        *Resource
	kindDef  string
	listDef  string
	subKinds map[string]string // subresource → definition name of its body
}

// resourcePaths returns the paths and operations of one resource.
func resourcePaths(rr *resolvedResource) []pathItem {
	r := rr.r
	gv := r.GVK.GroupVersion()
	prefix := gvPrefix(gv)
	kind := r.GVK.Kind
	opPrefix := camel(gv.Group) + strings.ToUpper(gv.Version[:1]) + gv.Version[1:]
	tag := tagOf(gv)
	produces, patchTypes := mediaTypes(r.isCRD())
	nsParam := param{name: "namespace", in: "path", typ: "string", desc: "object name and auth scope, such as for teams and projects", required: true, unique: true}
	nameParam := param{name: "name", in: "path", typ: "string", desc: "name of the " + kind, required: true, unique: true}

	scope, nsPath := "", ""
	collParams := []param{pPretty()}
	if r.Namespaced {
		scope, nsPath = "Namespaced", "/namespaces/{namespace}"
		collParams = []param{nsParam, pPretty()}
	}
	itemParams := append([]param{nameParam}, collParams...)
	op := func(method, verb, action, suffix string, gvk schema.GroupVersionKind) operation {
		return operation{method: method, id: verb + opPrefix + scope + kind + suffix, action: action, gvk: gvk,
			produces: produces, tag: tag}
	}

	var out []pathItem
	coll := pathItem{path: prefix + nsPath + "/" + r.Plural, params: collParams}
	// A list operation needs a list schema to describe its response.
	canList := r.hasVerb("list") && rr.listDef != ""
	if canList {
		o := op("get", "list", "list", "", r.GVK)
		o.desc, o.query = "list or watch objects of kind "+kind, listParams()
		o.responses = []response{{200, rr.listDef}}
		o.produces = watchProduces()
		coll.ops = append(coll.ops, o)
	}
	if r.hasVerb("create") {
		o := op("post", "create", "post", "", r.GVK)
		o.desc, o.query, o.body, o.bodyReq = "create a "+kind, writeParams(), rr.kindDef, true
		o.responses = []response{{200, rr.kindDef}, {201, rr.kindDef}, {202, rr.kindDef}}
		coll.ops = append(coll.ops, o)
	}
	if r.hasVerb("deletecollection") {
		o := op("delete", "deleteCollection", "deletecollection", "", r.GVK)
		o.desc, o.body = "delete collection of "+kind, defDeleteOptions
		o.query = append(append([]param{}, deleteParams()...), listParams()...)
		o.responses = []response{{200, defStatus}}
		coll.ops = append(coll.ops, o)
	}
	if len(coll.ops) > 0 {
		out = append(out, coll)
	}

	item := pathItem{path: coll.path + "/{name}", params: itemParams}
	if r.hasVerb("get") {
		o := op("get", "read", "get", "", r.GVK)
		o.desc, o.responses = "read the specified "+kind, []response{{200, rr.kindDef}}
		item.ops = append(item.ops, o)
	}
	if r.hasVerb("update") {
		o := op("put", "replace", "put", "", r.GVK)
		o.desc, o.query, o.body, o.bodyReq = "replace the specified "+kind, writeParams(), rr.kindDef, true
		o.responses = []response{{200, rr.kindDef}, {201, rr.kindDef}}
		item.ops = append(item.ops, o)
	}
	if r.hasVerb("delete") {
		o := op("delete", "delete", "delete", "", r.GVK)
		o.desc, o.query, o.body = "delete a "+kind, deleteParams(), defDeleteOptions
		o.responses = []response{{200, defStatus}, {202, defStatus}}
		item.ops = append(item.ops, o)
	}
	if r.hasVerb("patch") {
		o := op("patch", "patch", "patch", "", r.GVK)
		o.desc, o.query, o.body, o.bodyReq, o.patchTypes = "partially update the specified "+kind, patchParams(), defPatch, true, patchTypes
		o.responses = []response{{200, rr.kindDef}, {201, rr.kindDef}}
		item.ops = append(item.ops, o)
	}
	if len(item.ops) > 0 {
		out = append(out, item)
	}

	if r.Namespaced && canList {
		o := operation{method: "get", id: "list" + opPrefix + kind + "ForAllNamespaces", action: "list", gvk: r.GVK,
			desc: "list or watch objects of kind " + kind, query: listParams(), responses: []response{{200, rr.listDef}},
			produces: watchProduces(), tag: tag}
		out = append(out, pathItem{path: prefix + "/" + r.Plural, params: []param{pPretty()}, ops: []operation{o}})
	}
	if r.hasVerb("watch") {
		watch := func(path, verb, action string, params []param, suffix string) pathItem {
			o := operation{method: "get", id: verb + opPrefix + suffix, action: action, gvk: r.GVK, query: listParams(),
				desc:      "watch changes to " + kind + "; deprecated: use the 'watch' parameter with a list operation instead",
				responses: []response{{200, defWatchEvent}}, produces: watchProduces(), deprecated: true, tag: tag}
			return pathItem{path: path, params: params, ops: []operation{o}}
		}
		out = append(out,
			watch(prefix+"/watch"+nsPath+"/"+r.Plural, "watch", "watchlist", collParams, scope+kind+"List"),
			watch(prefix+"/watch"+nsPath+"/"+r.Plural+"/{name}", "watch", "watch", itemParams, scope+kind))
		if r.Namespaced {
			out = append(out, watch(prefix+"/watch/"+r.Plural, "watch", "watchlist", []param{pPretty()}, kind+"ListForAllNamespaces"))
		}
	}

	for _, sub := range r.Subresources {
		info, ok := subresourceInfo(sub)
		if !ok {
			continue
		}
		def, gvk := rr.kindDef, r.GVK
		if info.goType != nil {
			def, gvk = rr.subKinds[sub], info.gvk
		}
		suffix := strings.ToUpper(sub[:1]) + sub[1:]
		p := pathItem{path: item.path + "/" + sub, params: itemParams}
		for _, m := range info.methods {
			var o operation
			switch {
			case m == "get" && r.hasVerb("get"):
				o = op("get", "read", "get", suffix, gvk)
				o.desc, o.responses = "read "+sub+" of the specified "+kind, []response{{200, def}}
			case m == "put" && r.hasVerb("update"):
				o = op("put", "replace", "put", suffix, gvk)
				o.desc, o.query, o.body, o.bodyReq = "replace "+sub+" of the specified "+kind, writeParams(), def, true
				o.responses = []response{{200, def}, {201, def}}
			case m == "patch" && r.hasVerb("patch"):
				o = op("patch", "patch", "patch", suffix, gvk)
				o.desc, o.query, o.body, o.bodyReq, o.patchTypes = "partially update "+sub+" of the specified "+kind, patchParams(), defPatch, true, patchTypes
				o.responses = []response{{200, def}, {201, def}}
			case m == "post":
				o = op("post", "create", "post", suffix, gvk)
				o.desc, o.query, o.body, o.bodyReq = "create "+sub+" of a "+kind, writeParams(), def, true
				o.responses = []response{{200, def}, {201, def}, {202, def}}
			default:
				continue
			}
			p.ops = append(p.ops, o)
		}
		if len(p.ops) > 0 {
			out = append(out, p)
		}
	}
	return out
}

package discovery

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/kastle-dev/kastle/internal/apis"
)

// Aggregated discovery versions, indexes into documents.aggregated.
const (
	aggV2 = iota
	aggV2beta1
	aggCount
)

// Roots, indexes into documents.aggregated.
const (
	rootAPI  = iota // /api: the core group only
	rootAPIs        // /apis: every named group
	rootCount
)

// body is one encoded document with its entity tag.
type body struct {
	data []byte
	etag string // quoted, as sent in the ETag header
}

func newBody(data []byte) body {
	sum := sha256.Sum256(data)
	return body{data: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`}
}

// documents are the encoded discovery documents of one catalogue
// generation. Immutable once built.
type documents struct {
	gen [2]uint64
	// aggregated[root][aggV2|aggV2beta1].
	aggregated [rootCount][aggCount]body
	// coreVersions are the versions of the core group, for /api.
	coreVersions []string
	// groupList is the legacy /apis APIGroupList.
	groupList []byte
	// groups holds the legacy /apis/<group> APIGroup by group name.
	groups map[string][]byte
	// resourceLists holds the APIResourceList of every served group
	// version.
	resourceLists map[schema.GroupVersion][]byte
}

// group collects the catalogue rows of one API group.
type group struct {
	name     string
	versions []string // sorted by Kubernetes version priority, preferred first
	byVer    map[string][]*apis.Resource
	// ext holds the versions other servers serve (API aggregation).
	ext map[string]*External
}

// External is a group version another server serves (API aggregation).
type External struct {
	GroupVersion schema.GroupVersion
	// GroupPriority and VersionPriority are its APIService's
	// groupPriorityMinimum and versionPriority: groups of other servers
	// follow the catalogue's, higher priority first.
	GroupPriority, VersionPriority int32
	// Resources is the server's APIResourceList; nil when it could not be
	// read: the version is then listed without resources, marked Stale in
	// aggregated discovery, as kube-aggregator lists an unreachable one.
	Resources *metav1.APIResourceList
}

// mergeExternal adds the external group versions to groups: a version of
// a served group joins it (a version the catalogue serves itself stays
// the catalogue's), other groups follow in priority order.
func mergeExternal(groups []*group, ext []External) []*group {
	idx := map[string]*group{}
	for _, g := range groups {
		idx[g.name] = g
	}
	sorted := append([]External(nil), ext...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.GroupPriority != b.GroupPriority {
			return a.GroupPriority > b.GroupPriority
		}
		if a.GroupVersion.Group != b.GroupVersion.Group {
			return a.GroupVersion.Group < b.GroupVersion.Group
		}
		if a.VersionPriority != b.VersionPriority {
			return a.VersionPriority > b.VersionPriority
		}
		return version.CompareKubeAwareVersionStrings(a.GroupVersion.Version, b.GroupVersion.Version) > 0
	})
	for i := range sorted {
		e := &sorted[i]
		g := idx[e.GroupVersion.Group]
		if g == nil {
			g = &group{name: e.GroupVersion.Group, byVer: map[string][]*apis.Resource{}}
			idx[g.name] = g
			groups = append(groups, g)
		}
		if _, local := g.byVer[e.GroupVersion.Version]; local || g.ext[e.GroupVersion.Version] != nil {
			continue
		}
		if g.ext == nil {
			g.ext = map[string]*External{}
		}
		g.ext[e.GroupVersion.Version] = e
		g.versions = append(g.versions, e.GroupVersion.Version)
	}
	return groups
}

// groupsOf splits the catalogue into groups in catalogue order (first
// appearance), versions sorted by Kubernetes version priority and
// resources by name, as kube-apiserver orders them.
func groupsOf(rs []*apis.Resource) []*group {
	var out []*group
	idx := map[string]*group{}
	for _, r := range rs {
		g := idx[r.Group]
		if g == nil {
			g = &group{name: r.Group, byVer: map[string][]*apis.Resource{}}
			idx[r.Group] = g
			out = append(out, g)
		}
		if _, ok := g.byVer[r.Version]; !ok {
			g.versions = append(g.versions, r.Version)
		}
		g.byVer[r.Version] = append(g.byVer[r.Version], r)
	}
	for _, g := range out {
		// CRDs prefer the highest-priority served version (v2 > v1 >
		// v1beta2 > v1beta1 > v1alpha1 > others alphabetically).
		sort.SliceStable(g.versions, func(i, j int) bool {
			return version.CompareKubeAwareVersionStrings(g.versions[i], g.versions[j]) > 0
		})
		for _, v := range g.versions {
			list := g.byVer[v]
			sort.SliceStable(list, func(i, j int) bool { return list[i].Plural < list[j].Plural })
		}
	}
	return out
}

// build encodes every discovery document of the given resources.
func build(gen [2]uint64, rs []*apis.Resource, ext ...External) (*documents, error) {
	d := &documents{
		gen:           gen,
		groups:        map[string][]byte{},
		resourceLists: map[schema.GroupVersion][]byte{},
	}
	var agg [rootCount]apidiscoveryv2.APIGroupDiscoveryList
	groupList := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{}}

	for _, g := range mergeExternal(groupsOf(rs), ext) {
		root := rootAPIs
		if g.name == "" {
			root = rootAPI
			d.coreVersions = g.versions
		}
		ag := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: g.name}}
		var gvs []metav1.GroupVersionForDiscovery
		for _, v := range g.versions {
			gv := schema.GroupVersion{Group: g.name, Version: v}
			gvs = append(gvs, metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: v})
			if e := g.ext[v]; e != nil {
				// Its /apis/<group>/<version> is proxied to the server.
				ag.Versions = append(ag.Versions, externalVersion(e))
				continue
			}
			ag.Versions = append(ag.Versions, aggregatedVersion(v, g.byVer[v]))
			data, err := json.Marshal(resourceList(gv, g.byVer[v]))
			if err != nil {
				return nil, err
			}
			d.resourceLists[gv] = data
		}
		agg[root].Items = append(agg[root].Items, ag)
		if root == rootAPI {
			continue
		}
		apiGroup := metav1.APIGroup{
			TypeMeta:         metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"},
			Name:             g.name,
			Versions:         gvs,
			PreferredVersion: gvs[0],
		}
		data, err := json.Marshal(apiGroup)
		if err != nil {
			return nil, err
		}
		d.groups[g.name] = data
		apiGroup.TypeMeta = metav1.TypeMeta{}
		groupList.Groups = append(groupList.Groups, apiGroup)
	}

	var err error
	if d.groupList, err = json.Marshal(groupList); err != nil {
		return nil, err
	}
	for root := range agg {
		list := &agg[root]
		if list.Items == nil {
			list.Items = []apidiscoveryv2.APIGroupDiscovery{}
		}
		// v2beta1 has the same JSON shape as v2 (the types are field for
		// field identical), so the v2beta1 body is the v2 list under the
		// other apiVersion.
		for i, apiVersion := range [aggCount]string{aggV2: "apidiscovery.k8s.io/v2", aggV2beta1: "apidiscovery.k8s.io/v2beta1"} {
			list.TypeMeta = metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: apiVersion}
			data, err := json.Marshal(list)
			if err != nil {
				return nil, err
			}
			d.aggregated[root][i] = newBody(data)
		}
	}
	return d, nil
}

// aggregatedVersion describes one group version in aggregated form.
func aggregatedVersion(v string, rs []*apis.Resource) apidiscoveryv2.APIVersionDiscovery {
	out := apidiscoveryv2.APIVersionDiscovery{
		Version:   v,
		Resources: make([]apidiscoveryv2.APIResourceDiscovery, 0, len(rs)),
		Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent,
	}
	for _, r := range rs {
		scope := apidiscoveryv2.ScopeCluster
		if r.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		ar := apidiscoveryv2.APIResourceDiscovery{
			Resource:         r.Plural,
			ResponseKind:     &metav1.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind},
			Scope:            scope,
			SingularResource: r.Singular,
			Verbs:            verbs(r.Verbs),
			ShortNames:       r.ShortNames,
			Categories:       r.Categories,
		}
		for _, s := range r.Subresources {
			gvk := subresourceKind(r, s)
			ar.Subresources = append(ar.Subresources, apidiscoveryv2.APISubresourceDiscovery{
				Subresource:  s.Name,
				ResponseKind: &metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
				Verbs:        verbs(s.Verbs),
			})
		}
		out.Resources = append(out.Resources, ar)
	}
	return out
}

// externalVersion describes a version another server serves in
// aggregated form, from its legacy resource list: entries named
// "resource/subresource" become subresources of their resource.
func externalVersion(e *External) apidiscoveryv2.APIVersionDiscovery {
	out := apidiscoveryv2.APIVersionDiscovery{Version: e.GroupVersion.Version,
		Resources: []apidiscoveryv2.APIResourceDiscovery{}, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
	if e.Resources == nil {
		out.Freshness = apidiscoveryv2.DiscoveryFreshnessStale
		return out
	}
	kindOf := func(r metav1.APIResource) *metav1.GroupVersionKind {
		gvk := &metav1.GroupVersionKind{Group: e.GroupVersion.Group, Version: e.GroupVersion.Version, Kind: r.Kind}
		if r.Group != "" || r.Version != "" {
			gvk.Group, gvk.Version = r.Group, r.Version
		}
		return gvk
	}
	at := map[string]int{}
	for _, r := range e.Resources.APIResources {
		if strings.Contains(r.Name, "/") {
			continue
		}
		scope := apidiscoveryv2.ScopeCluster
		if r.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		at[r.Name] = len(out.Resources)
		out.Resources = append(out.Resources, apidiscoveryv2.APIResourceDiscovery{
			Resource: r.Name, ResponseKind: kindOf(r), Scope: scope, SingularResource: r.SingularName,
			Verbs: verbs(r.Verbs), ShortNames: r.ShortNames, Categories: r.Categories,
		})
	}
	for _, r := range e.Resources.APIResources {
		parent, sub, ok := strings.Cut(r.Name, "/")
		i, found := at[parent]
		if !ok || !found {
			continue
		}
		out.Resources[i].Subresources = append(out.Resources[i].Subresources, apidiscoveryv2.APISubresourceDiscovery{
			Subresource: sub, ResponseKind: kindOf(r), Verbs: verbs(r.Verbs)})
	}
	sort.SliceStable(out.Resources, func(i, j int) bool { return out.Resources[i].Resource < out.Resources[j].Resource })
	return out
}

// resourceList is the legacy APIResourceList of one group version: one
// entry per resource and one per subresource, sorted by name.
func resourceList(gv schema.GroupVersion, rs []*apis.Resource) *metav1.APIResourceList {
	list := &metav1.APIResourceList{
		TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
		GroupVersion: gv.String(),
		APIResources: []metav1.APIResource{},
	}
	if gv.Group == "" {
		// kube-apiserver strips apiVersion from the core group's
		// discovery documents (a release-1.1 compatibility quirk).
		list.APIVersion = ""
	}
	for _, r := range rs {
		res := metav1.APIResource{
			Name:         r.Plural,
			SingularName: r.Singular,
			Namespaced:   r.Namespaced,
			Kind:         r.Kind,
			Verbs:        verbs(r.Verbs),
			ShortNames:   r.ShortNames,
			Categories:   r.Categories,
		}
		if !r.Custom {
			// Built-ins are stored in the version they are served in;
			// for custom resources the storage version is not known
			// here, and a wrong hash is worse than none.
			res.StorageVersionHash = storageVersionHash(r.GVK())
		}
		list.APIResources = append(list.APIResources, res)
		for _, s := range r.Subresources {
			gvk := subresourceKind(r, s)
			sub := metav1.APIResource{
				Name:       r.Plural + "/" + s.Name,
				Namespaced: r.Namespaced,
				Kind:       gvk.Kind,
				Verbs:      verbs(s.Verbs),
			}
			if gvk.GroupVersion() != gv {
				sub.Group, sub.Version = gvk.Group, gvk.Version
			}
			list.APIResources = append(list.APIResources, sub)
		}
	}
	sort.SliceStable(list.APIResources, func(i, j int) bool {
		return list.APIResources[i].Name < list.APIResources[j].Name
	})
	return list
}

// subresourceKind is the kind served by s: its own, or the parent's when
// unset.
func subresourceKind(r *apis.Resource, s apis.Subresource) schema.GroupVersionKind {
	if s.Kind.Kind == "" {
		return r.GVK()
	}
	return s.Kind
}

// verbs copies vs, never returning nil: verbs is a required field and
// must encode as [] rather than null.
func verbs(vs []string) []string {
	return append(make([]string, 0, len(vs)), vs...)
}

// storageVersionHash is the opaque token clients compare to notice a
// change of storage version: the first 8 bytes of the SHA-256 of
// "group/version/kind", base64-encoded, as documented for
// APIResource.storageVersionHash.
func storageVersionHash(gvk schema.GroupVersionKind) string {
	sum := sha256.Sum256([]byte(gvk.Group + "/" + gvk.Version + "/" + gvk.Kind))
	return base64.StdEncoding.EncodeToString(sum[:8])
}

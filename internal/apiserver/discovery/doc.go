// Package discovery serves the API discovery documents clients read before
// anything else: /api and /apis (legacy APIVersions / APIGroupList, or the
// aggregated apidiscovery.k8s.io v2 and v2beta1 APIGroupDiscoveryList when
// the Accept header asks for it), /apis/<group> (APIGroup) and
// /api/v1, /apis/<group>/<version> (APIResourceList).
//
// Everything is derived from the resource catalogue (internal/apis). The
// encoded documents are cached per catalogue generation and rebuilt lazily
// on the first request after a change, so a request costs a map lookup and
// a write, and a newly established CRD is visible on the next request.
package discovery

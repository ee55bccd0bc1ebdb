// Package openapi serves the OpenAPI documents kubectl and client-go read:
// the /openapi/v3 index, one OpenAPI 3.0 document per served group-version
// (/openapi/v3/api/v1, /openapi/v3/apis/<group>/<version>) and the Swagger 2.0
// document of everything at /openapi/v2, in JSON or gnostic protobuf.
//
// There is no generated OpenAPI for k8s.io/api available to kastle, so the
// component schemas of built-in kinds are derived by reflection from the Go
// wire types (json tags, SwaggerDoc descriptions, patch-strategy tags) and are
// named after their Go package exactly as kube-apiserver names them, because
// kubectl looks them up by name and by x-kubernetes-group-version-kind.
// Custom resources get their schemas from the CRD's structural schema.
//
// Documents are built lazily, on the first request for them, and cached until
// the set of resources of their group-version changes, so that server start
// and CRD changes stay cheap. The same component schemas are exposed as
// spec.Schema maps for building server-side apply type converters.
package openapi

// Package endpoints serves the resource URLs (/api/v1/..., /apis/G/V/...):
// it negotiates media types (JSON, YAML, protobuf, Table,
// PartialObjectMetadata), decodes bodies, applies patches and server-side
// apply, streams watches, and calls the generic registry store of the
// addressed resource.
package endpoints

// Package registry is the generic store behind every served resource:
// create, get, list, update (including subresources), delete with
// preconditions and finalizers, deletecollection and watch, driven by the
// catalogue row of the resource (internal/apis) rather than by one type per
// resource. It turns storage errors into API status errors, applies
// defaulting, validation, admission and managed-fields tracking, and
// keeps system metadata (uid, creationTimestamp, generation) correct.
package registry

// Package apis is kastle's resource catalogue: one table naming every
// served built-in resource (group, version, kind, plural, scope, short
// names, subresources) with the small pieces of behaviour that differ
// between resources (defaulting, validation, selectable fields, table
// columns). Custom resources get entries of the same shape at run time.
//
// The catalogue is data: the generic registry, discovery, OpenAPI and the
// HTTP layer all read it, so adding a resource is adding a row.
package apis

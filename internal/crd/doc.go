// Package crd holds the schema machinery behind CustomResourceDefinitions:
// validating and defaulting CRD objects, computing their status (accepted
// names, conditions, stored versions), and, per served version, a compiled
// Schema that prunes, defaults and validates custom resources, renders their
// table rows and reads or writes their scale subresource.
//
// The API server owns storage and HTTP; this package is pure functions over
// apiextensions/v1 types and unstructured JSON values (map[string]interface{}
// with int64/float64 numbers, as produced by apimachinery's JSON decoding),
// so it can be tested without a server.
//
// CEL rules (x-kubernetes-validations) are accepted but not evaluated; see
// Warnings.
package crd

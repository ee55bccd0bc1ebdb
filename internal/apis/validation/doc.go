// Package validation checks built-in API objects the way kube-apiserver
// does before they are stored: object metadata (names, labels, immutable
// fields on update) and the practical core of each kind's rules, reported
// as field.ErrorList with Kubernetes' field paths and messages so that
// kubectl prints the same "is invalid" errors against kastle.
//
// Validation runs after defaulting (package defaults), as in Kubernetes:
// some rules (for example RBAC subject API groups) rely on defaults.
// Objects of types this package does not know yield an empty list.
package validation

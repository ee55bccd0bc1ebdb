// Package rbac is the RBAC authorizer: Kubernetes' Role, ClusterRole,
// RoleBinding and ClusterRoleBinding semantics over an in-memory index that
// the server feeds from watches (Upsert, Delete).
//
// Bindings are indexed by subject (user name, group name, service account
// normalised to its user name) and, for RoleBindings, by namespace, so a
// decision looks only at the bindings that name the caller and never scans
// all bindings. RBAC only ever allows: when no rule matches the answer is
// NoOpinion and the next authorizer (or the chain's default deny) decides.
//
// The package also holds what the RBAC registry needs to prevent privilege
// escalation (ConfirmNoEscalation, CanEscalate, CanBind, CheckRoleWrite,
// CheckBindingWrite), the rules of a user for SelfSubjectRulesReview
// (RulesFor), and the computation behind aggregated ClusterRoles
// (AggregateClusterRoles).
package rbac

// Package bootstrappolicy is the default RBAC policy Kubernetes 1.32
// installs, as data: the ClusterRoles, ClusterRoleBindings, Roles and
// RoleBindings a new cluster starts with (cluster-admin, the aggregated
// admin/edit/view, discovery, basic-user, public-info-viewer, the node,
// node-proxier, controller-manager and TLS-bootstrap roles, and the
// kube-public roles that let anonymous users read the cluster-info
// ConfigMap), written from the Kubernetes documentation ("Using RBAC
// Authorization", "Default roles and role bindings", "Using Node
// Authorization").
//
// Every object carries the label kubernetes.io/bootstrapping=rbac-defaults
// and the annotation rbac.authorization.kubernetes.io/autoupdate=true.
// At start the server reconciles each object with what is stored
// (ReconcileClusterRole and friends): missing rules, selectors and
// subjects are added and user additions kept, unless an administrator set
// the autoupdate annotation to "false".
package bootstrappolicy

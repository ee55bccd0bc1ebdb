// Package node is the Node authorizer: it decides the requests of
// kubelets (users system:node:<name> in the group system:nodes) as
// Kubernetes' "Using Node Authorization" describes, with the node-scoped
// restrictions of Kubernetes 1.32 (AuthorizeNodeWithSelectors) on.
//
// A node may read only what its pods need: the Secrets, ConfigMaps,
// ServiceAccounts (and create their tokens), PersistentVolumeClaims,
// PersistentVolumes and VolumeAttachments reachable from pods bound to it
// (spec.nodeName), through a graph the server keeps current from watches
// (AddPod, UpdatePod, DeletePod and the other Add/Delete methods). It may
// read and write only its own Node and its own Lease in kube-node-lease,
// read only its own pods and its own CertificateSigningRequests
// (spec.username is the node's user), and create CSRs. Everything else a
// kubelet needs is granted by the rules of the system:node role
// (bootstrappolicy.NodeRules), which is deliberately not bound through
// RBAC. Field values a write carries (the name of a created Node or Lease,
// the node of a mirror pod) are for the NodeRestriction admission plugin.
//
// Like Kubernetes' Node authorizer it never denies: requests it does not
// allow get NoOpinion (with a reason), so RBAC or the chain's default deny
// decides, and requests of other users get NoOpinion without a reason.
package node

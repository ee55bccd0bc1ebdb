// Package csrapproving is the CSR approving controller: it approves
// kubelet client certificate requests (nodeclient from bootstrappers,
// selfnodeclient for renewals) when a SubjectAccessReview allows the
// requester to, and, when enabled, kubelet serving requests whose every
// SAN is one of the requesting Node's addresses.
package csrapproving

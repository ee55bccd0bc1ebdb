// Package bootstraptoken handles bootstrap tokens as Kubernetes defines
// them: the "<id>.<secret>" token, its kube-system Secret (usages, extra
// groups, expiration), and the detached HS256 JWS with which the
// bootstrap signer vouches, per token, for the cluster-info kubeconfig
// that joining nodes discover.
package bootstraptoken

// Package bootstrapsigner keeps the public kube-public/cluster-info
// ConfigMap signed: one jws-kubeconfig-<token id> detached JWS of its
// kubeconfig for every valid bootstrap token with usage-bootstrap-signing,
// and none for any other, so a joining node can check with its token that
// the cluster-info it fetched without trusting the server is genuine.
package bootstrapsigner

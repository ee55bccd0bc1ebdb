// Package nodelifecycle watches node heartbeats (the node's Lease in
// kube-node-lease and its Ready condition): a node silent for longer than
// the grace period is marked Ready=Unknown and tainted unreachable, so no
// new work is placed on it; the taint goes when it reports again.
package nodelifecycle

// Package testenvbench measures pkg/testenv as a controller author
// meets it: start-to-ready of testenv.Start on a fresh and on a warm
// data dir, memory added per environment, and 20 environments started
// at once; and, in the same run, controller-runtime's envtest with
// kube-apiserver and etcd binaries when KUBEBUILDER_ASSETS points at
// them (skipped, with a message, otherwise). See bench/README.md.
package testenvbench

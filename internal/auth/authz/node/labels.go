package node

import "strings"

// RestrictedLabel reports whether a node may not set, change or remove
// the label key on its own Node: the node-restriction.kubernetes.io/
// prefix, and kubernetes.io/ and k8s.io/ labels (node-role.kubernetes.io/
// among them) other than the well-known ones kubelets set and the
// kubelet.kubernetes.io/ and node.kubernetes.io/ prefixes. NodeRestriction
// enforces it; the node agent checks its --node-labels with it.
func RestrictedLabel(key string) bool {
	prefix, _, found := strings.Cut(key, "/")
	if !found {
		return false
	}
	if prefix == "node-restriction.kubernetes.io" || strings.HasSuffix(prefix, ".node-restriction.kubernetes.io") {
		return true
	}
	if prefix != "kubernetes.io" && !strings.HasSuffix(prefix, ".kubernetes.io") && prefix != "k8s.io" && !strings.HasSuffix(prefix, ".k8s.io") {
		return false
	}
	switch key {
	case "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os",
		"beta.kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/instance-type",
		"node.kubernetes.io/instance-type", "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
		"topology.kubernetes.io/region", "topology.kubernetes.io/zone":
		return false
	}
	return !(prefix == "kubelet.kubernetes.io" || strings.HasSuffix(prefix, ".kubelet.kubernetes.io") ||
		prefix == "node.kubernetes.io" || strings.HasSuffix(prefix, ".node.kubernetes.io"))
}

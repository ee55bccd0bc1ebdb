package admission

import (
	"context"
	"fmt"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz/node"
	"github.com/kastle-dev/kastle/internal/registry"
)

// NodeRestriction limits what a node (system:node:<name>) may write, on top
// of the Node authorizer: its own Node object (without the restricted
// labels), its own Lease, mirror pods bound to it, and the status of pods
// bound to it.
type NodeRestriction struct{}

var _ Plugin = NodeRestriction{}

// Admit does nothing.
func (NodeRestriction) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate checks writes made by nodes.
func (NodeRestriction) Validate(ctx context.Context, a *registry.Attributes) error {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return nil
	}
	nodeName, isNode := node.NodeName(u)
	if !isNode {
		return nil
	}
	deny := func(format string, args ...interface{}) error {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, fmt.Errorf("node %q is not allowed to "+format, append([]interface{}{nodeName}, args...)...))
	}
	r := a.Resource
	switch {
	case r.Group == "" && r.Plural == "nodes":
		if a.Name != nodeName {
			return deny("modify node %q", a.Name)
		}
		if n, ok := a.Object.(*corev1.Node); ok {
			var old *corev1.Node
			if o, ok := a.OldObject.(*corev1.Node); ok {
				old = o
			}
			for k, v := range n.Labels {
				if old != nil {
					if ov, had := old.Labels[k]; had && ov == v {
						continue
					}
				}
				if restrictedNodeLabel(k) {
					return deny("modify labels: %s", k)
				}
			}
			if old != nil {
				for k := range old.Labels {
					if _, kept := n.Labels[k]; !kept && restrictedNodeLabel(k) {
						return deny("modify labels: %s", k)
					}
				}
			}
		}
	case r.Group == "" && r.Plural == "pods":
		var pod *corev1.Pod
		if p, ok := a.Object.(*corev1.Pod); ok {
			pod = p
		} else if p, ok := a.OldObject.(*corev1.Pod); ok {
			pod = p
		}
		if pod == nil {
			return nil
		}
		if pod.Spec.NodeName != nodeName {
			return deny("%s pod %q bound to another node", strings.ToLower(string(a.Operation)), a.Name)
		}
		if a.Operation == registry.Create {
			if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; !mirror {
				return deny("create pods that are not mirror pods")
			}
		}
		if a.Operation == registry.Update && a.Subresource != "status" {
			return deny("update pod %q other than its status", a.Name)
		}
	case r.Group == "coordination.k8s.io" && r.Plural == "leases":
		if a.Namespace != corev1.NamespaceNodeLease || a.Name != nodeName {
			return deny("modify lease %s/%s", a.Namespace, a.Name)
		}
		if l, ok := a.Object.(*coordinationv1.Lease); ok && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != nodeName {
			return deny("hold a lease as %q", *l.Spec.HolderIdentity)
		}
	}
	return nil
}

// restrictedNodeLabel reports labels a node may not set on itself: the
// node-restriction.kubernetes.io/ prefix, and kubernetes.io/ and k8s.io/
// labels other than the well-known ones kubelets set.
func restrictedNodeLabel(key string) bool {
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

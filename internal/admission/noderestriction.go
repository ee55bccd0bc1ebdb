package admission

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz/node"
	"github.com/kastle-dev/kastle/internal/registry"
)

// NodeRestriction limits what a node (system:node:<name> in system:nodes)
// may write, on top of the Node authorizer, with upstream's rules:
//
//   - its own Node: created without restricted labels; updated without
//     touching restricted labels or its taints (also through nodes/status);
//   - pods: only mirror pods bound to it that reference no other object
//     (service account, secret, config map, claim, trust bundle) and are
//     owned by nothing but its Node; only pods bound to it may be deleted,
//     evicted or have their status written, and never their labels
//     through pods/status;
//   - serviceaccounts/token: only bound to a pod running on it, by name and
//     uid;
//   - its own Lease in kube-node-lease.
//
// Every refusal is a 403 Forbidden Status naming what was refused.
type NodeRestriction struct {
	// Pods reads pods: token requests and evictions name one.
	Pods Getter
	// Nodes reads nodes: a mirror pod's owner reference must carry the
	// node's uid.
	Nodes Getter
}

var _ Plugin = (*NodeRestriction)(nil)

// Admit does nothing.
func (*NodeRestriction) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate checks writes made by nodes.
func (p *NodeRestriction) Validate(ctx context.Context, a *registry.Attributes) error {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return nil // the server's own writes
	}
	nodeName, isNode := node.NodeName(u)
	if !isNode {
		return nil
	}
	n := nodeCheck{p: p, a: a, node: nodeName}
	if nodeName == "" {
		return n.deny("could not determine node from user %q", u.Name)
	}
	r := a.Resource
	switch {
	case r.Group == "" && r.Plural == "nodes":
		return n.nodeWrite()
	case r.Group == "" && r.Plural == "pods":
		switch a.Subresource {
		case "":
			return n.podWrite(ctx)
		case "status":
			return n.podStatus()
		case "eviction":
			return n.podEviction(ctx)
		default:
			return n.deny("write pods/%s", a.Subresource)
		}
	case r.Group == "" && r.Plural == "serviceaccounts" && a.Subresource == "token":
		return n.tokenRequest(ctx)
	case r.Group == "coordination.k8s.io" && r.Plural == "leases":
		if a.Namespace != corev1.NamespaceNodeLease || a.Name != nodeName {
			return n.deny("modify lease %s/%s", a.Namespace, a.Name)
		}
		if l, ok := a.Object.(*coordinationv1.Lease); ok && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != nodeName {
			return n.deny("hold a lease as %q", *l.Spec.HolderIdentity)
		}
	}
	return nil
}

// nodeCheck is one write of one node.
type nodeCheck struct {
	p    *NodeRestriction
	a    *registry.Attributes
	node string
}

func (n nodeCheck) deny(format string, args ...interface{}) error {
	return apierrors.NewForbidden(n.a.Resource.GroupResource(), n.a.Name,
		fmt.Errorf("node %q is not allowed to "+format, append([]interface{}{n.node}, args...)...))
}

// nodeWrite: only its own Node; restricted labels are neither set at
// registration nor added, changed or removed later; taints are set at
// registration only (a node that drops a NoSchedule taint attracts
// workloads meant to avoid it).
func (n nodeCheck) nodeWrite() error {
	a := n.a
	if a.Name != n.node {
		return n.deny("modify node %q", a.Name)
	}
	obj, _ := a.Object.(*corev1.Node)
	if obj == nil {
		return nil // delete of its own Node
	}
	old, _ := a.OldObject.(*corev1.Node)
	if old == nil {
		if bad := restrictedLabels(obj.Labels, nil); len(bad) > 0 {
			return n.deny("set labels: %s", strings.Join(bad, ", "))
		}
		return nil
	}
	if !equality.Semantic.DeepEqual(obj.Spec.Taints, old.Spec.Taints) {
		return n.deny("modify taints")
	}
	if !equality.Semantic.DeepEqual(obj.Spec.ConfigSource, old.Spec.ConfigSource) {
		return n.deny("modify spec.configSource")
	}
	if bad := restrictedLabels(obj.Labels, old.Labels); len(bad) > 0 {
		return n.deny("modify labels: %s", strings.Join(bad, ", "))
	}
	return nil
}

// restrictedLabels lists, sorted, the restricted labels that differ between
// now and before (added, changed or removed).
func restrictedLabels(now, before map[string]string) []string {
	var out []string
	for k, v := range now {
		if ov, had := before[k]; (!had || ov != v) && node.RestrictedLabel(k) {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, kept := now[k]; !kept && node.RestrictedLabel(k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// podWrite: create only mirror pods (see mirrorPod), delete only pods bound
// to the node, never update.
func (n nodeCheck) podWrite(ctx context.Context) error {
	a := n.a
	switch a.Operation {
	case registry.Create:
		pod, ok := a.Object.(*corev1.Pod)
		if !ok {
			return nil
		}
		return n.mirrorPod(ctx, pod)
	case registry.Delete:
		pod, ok := a.OldObject.(*corev1.Pod)
		if ok && pod.Spec.NodeName != n.node {
			return n.deny("delete pod %q bound to another node", a.Name)
		}
		return nil
	default:
		return n.deny("update pod %q other than its status", a.Name)
	}
}

// mirrorPod admits the mirror of a static pod: bound to the node, owned by
// nothing but the node's own Node (as controller, by uid), and referring
// to no other API object — a static pod has no business with the cluster's
// credentials, and each reference would widen what the Node authorizer
// lets the node read.
func (n nodeCheck) mirrorPod(ctx context.Context, pod *corev1.Pod) error {
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; !mirror {
		return n.deny("create pods without the %q annotation (only mirror pods)", corev1.MirrorPodAnnotationKey)
	}
	if pod.Spec.NodeName != n.node {
		return n.deny("create pods with spec.nodeName %q (only itself)", pod.Spec.NodeName)
	}
	switch len(pod.OwnerReferences) {
	case 0:
	case 1:
		o := pod.OwnerReferences[0]
		if o.APIVersion != "v1" || o.Kind != "Node" || o.Name != n.node {
			return n.deny("create pods owned by %s %s %q (only its own Node)", o.APIVersion, o.Kind, o.Name)
		}
		if o.Controller == nil || !*o.Controller {
			return n.deny("create pods whose owner reference to its Node is not a controller reference")
		}
		if o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion {
			return n.deny("set blockOwnerDeletion on an owner reference")
		}
		obj, err := n.p.Nodes.Get(ctx, "", n.node, "")
		if err != nil {
			if apierrors.IsNotFound(err) {
				return err
			}
			return n.deny("create pods owned by a Node whose uid cannot be checked: %v", err)
		}
		if self, ok := obj.(*corev1.Node); !ok || self.UID != o.UID {
			return n.deny("create pods owned by a Node with uid %q (not its own)", o.UID)
		}
	default:
		return n.deny("create pods with more than one owner reference")
	}
	refs := node.ReferencesOf(pod)
	switch {
	case refs.ServiceAccount:
		return n.deny("create pods that reference a service account")
	case len(refs.Secrets) > 0:
		return n.deny("create pods that reference secrets")
	case len(refs.ConfigMaps) > 0:
		return n.deny("create pods that reference configmaps")
	case len(refs.Claims) > 0:
		return n.deny("create pods that reference persistentvolumeclaims")
	case len(pod.Spec.ResourceClaims) > 0:
		return n.deny("create pods that reference resourceclaims")
	case refs.ClusterTrustBundles:
		return n.deny("create pods that use clustertrustbundles")
	case refs.ServiceAccountToken:
		return n.deny("create pods that use service account token volume projection")
	}
	return nil
}

// podStatus: only pods bound to the node, and no label changes (status
// writes may carry metadata; a node relabelling its pods could move them
// into or out of services and policies).
func (n nodeCheck) podStatus() error {
	old, _ := n.a.OldObject.(*corev1.Pod)
	obj, _ := n.a.Object.(*corev1.Pod)
	if old == nil || obj == nil {
		return n.deny("write the status of pod %q", n.a.Name)
	}
	if old.Spec.NodeName != n.node {
		return n.deny("update the status of pod %q bound to another node", n.a.Name)
	}
	if !labels.Equals(old.Labels, obj.Labels) {
		return n.deny("update labels of pod %q through pods/status", n.a.Name)
	}
	return nil
}

// podEviction: only pods bound to the node.
func (n nodeCheck) podEviction(ctx context.Context) error {
	name := n.a.Name
	if ev, ok := n.a.Object.(*policyv1.Eviction); ok && ev.Name != "" {
		name = ev.Name
	}
	pod, err := n.pod(ctx, name)
	if err != nil {
		return err
	}
	if pod.Spec.NodeName != n.node {
		return n.deny("evict pod %q bound to another node", name)
	}
	return nil
}

// tokenRequest: a node may ask for a service-account token only bound to
// a pod (kind Pod, name and uid) that runs on it. An unbound token would
// outlive the pod, and one bound to another node's pod would let a node
// act as workloads it does not run. (A pod running as another service
// account is the TokenRequest's own 400.)
func (n nodeCheck) tokenRequest(ctx context.Context) error {
	tr, ok := n.a.Object.(*authenticationv1.TokenRequest)
	if !ok {
		return n.deny("request a token without a TokenRequest body")
	}
	ref := tr.Spec.BoundObjectRef
	if ref == nil || ref.APIVersion != "v1" || ref.Kind != "Pod" || ref.Name == "" {
		return n.deny("request a token not bound to a pod")
	}
	if ref.UID == "" {
		return n.deny("request a token bound to a pod without naming its uid")
	}
	pod, err := n.pod(ctx, ref.Name)
	if err != nil {
		return err
	}
	if pod.UID != ref.UID {
		return n.deny("request a token bound to pod %q with uid %q: the pod's uid is %q (it may have been deleted and recreated)", ref.Name, ref.UID, pod.UID)
	}
	if pod.Spec.NodeName != n.node {
		return n.deny("request a token bound to pod %q scheduled on another node", ref.Name)
	}
	return nil
}

// pod reads a pod of the request's namespace; NotFound is returned as
// such, any other failure is a refusal (fail closed).
func (n nodeCheck) pod(ctx context.Context, name string) (*corev1.Pod, error) {
	if n.p.Pods == nil {
		return nil, n.deny("access pod %q: no pod reader configured", name)
	}
	obj, err := n.p.Pods.Get(ctx, n.a.Namespace, name, "")
	if apierrors.IsNotFound(err) {
		return nil, err
	}
	if err != nil {
		return nil, n.deny("access pod %q: %v", name, err)
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, apierrors.NewInternalError(errors.New("pod store returned " + fmt.Sprintf("%T", obj)))
	}
	return pod, nil
}

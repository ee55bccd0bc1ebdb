package admission

import (
	"context"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/registry"
)

func TestNodeRestriction(t *testing.T) {
	cat, _ := apis.NewCatalogue()
	res := func(g, plural string) *apis.Resource { r, _ := cat.Lookup(g, "v1", plural); return r }
	n1 := request.WithUser(context.Background(), &user.Info{Name: "system:node:n1", Groups: []string{"system:nodes"}})
	admin := request.WithUser(context.Background(), &user.Info{Name: "admin", Groups: []string{"system:masters"}})
	nodeObj := func(name string, labels map[string]string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	pod := func(nodeName string, mirror bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: nodeName}}
		if mirror {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
		}
		return p
	}
	holder := "n2"
	tests := []struct {
		name   string
		ctx    context.Context
		r      *apis.Resource
		op     registry.Operation
		sub    string
		ns, nm string
		obj    runtime.Object
		old    runtime.Object
		denied bool
	}{
		{"own node", n1, res("", "nodes"), registry.Create, "", "", "n1", nodeObj("n1", map[string]string{"kubernetes.io/hostname": "n1"}), nil, false},
		{"other node", n1, res("", "nodes"), registry.Update, "", "", "n2", nodeObj("n2", nil), nodeObj("n2", nil), true},
		{"restricted label", n1, res("", "nodes"), registry.Update, "", "", "n1", nodeObj("n1", map[string]string{"node-restriction.kubernetes.io/trusted": "yes"}), nodeObj("n1", nil), true},
		{"kubernetes.io label outside the allowed set", n1, res("", "nodes"), registry.Update, "", "", "n1", nodeObj("n1", map[string]string{"node-role.kubernetes.io/control-plane": ""}), nodeObj("n1", nil), true},
		{"own domain label", n1, res("", "nodes"), registry.Update, "", "", "n1", nodeObj("n1", map[string]string{"example.com/rack": "7"}), nodeObj("n1", nil), false},
		{"admin sets any label", admin, res("", "nodes"), registry.Update, "", "", "n2", nodeObj("n2", map[string]string{"node-restriction.kubernetes.io/x": "y"}), nodeObj("n2", nil), false},
		{"status of own pod", n1, res("", "pods"), registry.Update, "status", "ns", "p", pod("n1", false), pod("n1", false), false},
		{"spec of own pod", n1, res("", "pods"), registry.Update, "", "ns", "p", pod("n1", false), pod("n1", false), true},
		{"status of another node's pod", n1, res("", "pods"), registry.Update, "status", "ns", "p", pod("n2", false), pod("n2", false), true},
		{"mirror pod", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true), nil, false},
		{"ordinary pod", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", false), nil, true},
		{"own lease", n1, res("coordination.k8s.io", "leases"), registry.Update, "", "kube-node-lease", "n1", &coordinationv1.Lease{}, nil, false},
		{"other lease", n1, res("coordination.k8s.io", "leases"), registry.Update, "", "kube-node-lease", "n2", &coordinationv1.Lease{}, nil, true},
		{"lease held as another", n1, res("coordination.k8s.io", "leases"), registry.Update, "", "kube-node-lease", "n1", &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}, nil, true},
	}
	for _, tt := range tests {
		err := NodeRestriction{}.Validate(tt.ctx, &registry.Attributes{Operation: tt.op, Resource: tt.r, Subresource: tt.sub, Namespace: tt.ns, Name: tt.nm, Object: tt.obj, OldObject: tt.old})
		if denied := apierrors.IsForbidden(err); denied != tt.denied || (err != nil && !denied) {
			t.Errorf("%s: %v, want denied=%v", tt.name, err, tt.denied)
		}
	}
}

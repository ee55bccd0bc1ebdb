package admission

import (
	"context"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/registry/registrytest"
)

func TestNodeRestriction(t *testing.T) {
	cat, _ := apis.NewCatalogue()
	res := func(g, plural string) *apis.Resource { r, _ := cat.Lookup(g, "v1", plural); return r }
	n1 := request.WithUser(context.Background(), &user.Info{Name: "system:node:n1", Groups: []string{"system:nodes"}})
	admin := request.WithUser(context.Background(), &user.Info{Name: "admin", Groups: []string{"system:masters"}})
	ctx := context.Background()

	// Real stores on etcd: the nodes n1 and n2, a pod on each.
	nodes := registrytest.NewStore(t, testClient, "", "nodes")
	pods := registrytest.NewStore(t, testClient, "", "pods")
	uids := map[string]types.UID{}
	for _, name := range []string{"n1", "n2"} {
		out, err := nodes.Create(ctx, "", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, registry.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids[name] = out.(*corev1.Node).UID
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "on-" + name}, Spec: corev1.PodSpec{NodeName: name, ServiceAccountName: "sa",
			Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
		out, err = pods.Create(ctx, "ns", p, registry.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids["on-"+name] = out.(*corev1.Pod).UID
	}
	plugin := &NodeRestriction{Pods: pods, Nodes: nodes}

	nodeObj := func(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	noSchedule := corev1.Taint{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule}
	role := map[string]string{"node-role.kubernetes.io/control-plane": ""}
	pod := func(nodeName string, mirror bool, edit ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
		if mirror {
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
		}
		for _, e := range edit {
			e(p)
		}
		return p
	}
	yes, no := true, false
	ownedBy := func(name string, uid types.UID, controller *bool) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: uid, Controller: controller}}
		}
	}
	withVolume := func(vs corev1.VolumeSource) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "v", VolumeSource: vs})
		}
	}
	labelled := func(l map[string]string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Labels = l } }
	token := func(ref *authenticationv1.BoundObjectReference) *authenticationv1.TokenRequest {
		return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref}}
	}
	podRef := func(name string, uid types.UID) *authenticationv1.BoundObjectReference {
		return &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: name, UID: uid}
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
		// Nodes.
		{"own node", n1, res("", "nodes"), registry.Create, "", "", "n1", nodeObj("n1", map[string]string{"kubernetes.io/hostname": "n1"}), nil, false},
		{"registers with a taint", n1, res("", "nodes"), registry.Create, "", "", "n1", nodeObj("n1", nil, noSchedule), nil, false},
		{"registers with a restricted label", n1, res("", "nodes"), registry.Create, "", "", "n1", nodeObj("n1", role), nil, true},
		{"other node", n1, res("", "nodes"), registry.Update, "", "", "n2", nodeObj("n2", nil), nodeObj("n2", nil), true},
		{"restricted label", n1, res("", "nodes"), registry.Update, "", "", "n1", nodeObj("n1", map[string]string{"node-restriction.kubernetes.io/trusted": "yes"}), nodeObj("n1", nil), true},
		{"adds a node-role label", n1, res("", "nodes"), registry.Update, "", "", "n1", nodeObj("n1", role), nodeObj("n1", nil), true},
		{"removes a node-role label", n1, res("", "nodes"), registry.Update, "", "", "n1", nodeObj("n1", nil), nodeObj("n1", role), true},
		{"changes a restricted label", n1, res("", "nodes"), registry.Update, "", "", "n1",
			nodeObj("n1", map[string]string{"node-restriction.kubernetes.io/zone": "b"}), nodeObj("n1", map[string]string{"node-restriction.kubernetes.io/zone": "a"}), true},
		{"restricted label through status", n1, res("", "nodes"), registry.Update, "status", "", "n1", nodeObj("n1", role), nodeObj("n1", nil), true},
		{"keeps a restricted label", n1, res("", "nodes"), registry.Update, "", "", "n1",
			nodeObj("n1", map[string]string{"node-role.kubernetes.io/control-plane": "", "example.com/rack": "7"}), nodeObj("n1", role), false},
		{"own domain label", n1, res("", "nodes"), registry.Update, "", "", "n1", nodeObj("n1", map[string]string{"example.com/rack": "7"}), nodeObj("n1", nil), false},
		{"kubelet label", n1, res("", "nodes"), registry.Update, "", "", "n1", nodeObj("n1", map[string]string{"node.kubernetes.io/instance-type": "m"}), nodeObj("n1", nil), false},
		{"removes its taint", n1, res("", "nodes"), registry.Update, "", "", "n1", nodeObj("n1", nil), nodeObj("n1", nil, noSchedule), true},
		{"adds a taint", n1, res("", "nodes"), registry.Update, "", "", "n1", nodeObj("n1", nil, noSchedule), nodeObj("n1", nil), true},
		{"keeps its taint", n1, res("", "nodes"), registry.Update, "", "", "n1", nodeObj("n1", map[string]string{"example.com/a": "b"}, noSchedule), nodeObj("n1", nil, noSchedule), false},
		{"admin sets any label and taint", admin, res("", "nodes"), registry.Update, "", "", "n2", nodeObj("n2", role), nodeObj("n2", nil, noSchedule), false},

		// Pods.
		{"status of own pod", n1, res("", "pods"), registry.Update, "status", "ns", "p", pod("n1", false), pod("n1", false), false},
		{"labels through pods/status", n1, res("", "pods"), registry.Update, "status", "ns", "p", pod("n1", false, labelled(map[string]string{"app": "x"})), pod("n1", false), true},
		{"spec of own pod", n1, res("", "pods"), registry.Update, "", "ns", "p", pod("n1", false), pod("n1", false), true},
		{"status of another node's pod", n1, res("", "pods"), registry.Update, "status", "ns", "p", pod("n2", false), pod("n2", false), true},
		{"delete own pod", n1, res("", "pods"), registry.Delete, "", "ns", "p", nil, pod("n1", false), false},
		{"delete another node's pod", n1, res("", "pods"), registry.Delete, "", "ns", "p", nil, pod("n2", false), true},
		{"mirror pod", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true), nil, false},
		{"mirror pod owned by its node", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, ownedBy("n1", uids["n1"], &yes)), nil, false},
		{"mirror pod owned by its node, wrong uid", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, ownedBy("n1", "bogus", &yes)), nil, true},
		{"mirror pod owned by another node", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, ownedBy("n2", uids["n2"], &yes)), nil, true},
		{"mirror pod owner not controller", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, ownedBy("n1", uids["n1"], &no)), nil, true},
		{"mirror pod on another node", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n2", true), nil, true},
		{"mirror pod with a service account", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, func(p *corev1.Pod) { p.Spec.ServiceAccountName = "default" }), nil, true},
		{"mirror pod with a secret volume", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, withVolume(corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}})), nil, true},
		{"mirror pod with a secret env", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, func(p *corev1.Pod) {
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}}
		}), nil, true},
		{"mirror pod with a config map", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, withVolume(corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}})), nil, true},
		{"mirror pod with a claim", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, withVolume(corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}})), nil, true},
		{"mirror pod with a resource claim", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, func(p *corev1.Pod) {
			name := "rct"
			p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: "gpu", ResourceClaimTemplateName: &name}}
		}), nil, true},
		{"mirror pod with a token projection", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, withVolume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}}}})), nil, true},
		{"mirror pod with an emptyDir", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", true, withVolume(corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}})), nil, false},
		{"ordinary pod", n1, res("", "pods"), registry.Create, "", "ns", "p", pod("n1", false), nil, true},

		// Service-account tokens.
		{"token bound to own pod", n1, res("", "serviceaccounts"), registry.Create, "token", "ns", "sa", token(podRef("on-n1", uids["on-n1"])), nil, false},
		{"unbound token", n1, res("", "serviceaccounts"), registry.Create, "token", "ns", "sa", token(nil), nil, true},
		{"token bound to a secret", n1, res("", "serviceaccounts"), registry.Create, "token", "ns", "sa", token(&authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Secret", Name: "s", UID: "u"}), nil, true},
		{"token bound to own pod without uid", n1, res("", "serviceaccounts"), registry.Create, "token", "ns", "sa", token(podRef("on-n1", "")), nil, true},
		{"token bound to own pod, wrong uid", n1, res("", "serviceaccounts"), registry.Create, "token", "ns", "sa", token(podRef("on-n1", uids["on-n2"])), nil, true},
		{"token bound to another node's pod", n1, res("", "serviceaccounts"), registry.Create, "token", "ns", "sa", token(podRef("on-n2", uids["on-n2"])), nil, true},
		{"admin asks an unbound token", admin, res("", "serviceaccounts"), registry.Create, "token", "ns", "sa", token(nil), nil, false},

		// Leases.
		{"own lease", n1, res("coordination.k8s.io", "leases"), registry.Update, "", "kube-node-lease", "n1", &coordinationv1.Lease{}, nil, false},
		{"other lease", n1, res("coordination.k8s.io", "leases"), registry.Update, "", "kube-node-lease", "n2", &coordinationv1.Lease{}, nil, true},
		{"lease held as another", n1, res("coordination.k8s.io", "leases"), registry.Update, "", "kube-node-lease", "n1", &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}, nil, true},
	}
	for _, tt := range tests {
		err := plugin.Validate(tt.ctx, &registry.Attributes{Operation: tt.op, Resource: tt.r, Subresource: tt.sub, Namespace: tt.ns, Name: tt.nm, Object: tt.obj, OldObject: tt.old})
		if denied := apierrors.IsForbidden(err); denied != tt.denied || (err != nil && !denied) {
			t.Errorf("%s: %v, want denied=%v", tt.name, err, tt.denied)
		}
	}
	// A token bound to a pod that does not exist is a 404, not a pass.
	err := plugin.Validate(n1, &registry.Attributes{Operation: registry.Create, Resource: res("", "serviceaccounts"), Subresource: "token",
		Namespace: "ns", Name: "sa", Object: token(podRef("ghost", "u"))})
	if !apierrors.IsNotFound(err) {
		t.Errorf("token bound to a missing pod: %v", err)
	}
}

// TestServiceAccountRefusesMirrorPodCredentials: whoever creates it, a
// mirror pod may not name a service account, reference secrets or project
// a token.
func TestServiceAccountRefusesMirrorPodCredentials(t *testing.T) {
	cat, _ := apis.NewCatalogue()
	pods, _ := cat.Lookup("", "v1", "pods")
	p := &ServiceAccount{Accounts: registrytest.NewStore(t, testClient, "", "serviceaccounts")}
	mirror := func(edit func(*corev1.Pod)) *corev1.Pod {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "m", Annotations: map[string]string{corev1.MirrorPodAnnotationKey: "x"}},
			Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
		edit(pod)
		return pod
	}
	for _, tc := range []struct {
		name   string
		pod    *corev1.Pod
		denied bool
	}{
		{"plain", mirror(func(*corev1.Pod) {}), false},
		{"service account", mirror(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "default" }), true},
		{"image pull secret", mirror(func(p *corev1.Pod) { p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "pull"}} }), true},
		{"secret env", mirror(func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}
		}), true},
		{"token projection", mirror(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "t", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}}}}}}
		}), true},
	} {
		a := &registry.Attributes{Operation: registry.Create, Resource: pods, Namespace: "ns", Name: "m", Object: tc.pod}
		if err := p.Admit(context.Background(), a); err != nil {
			t.Fatalf("%s: admit: %v", tc.name, err)
		}
		err := p.Validate(context.Background(), a)
		if denied := apierrors.IsForbidden(err); denied != tc.denied || (err != nil && !denied) {
			t.Errorf("%s: %v, want denied=%v", tc.name, err, tc.denied)
		}
	}
}

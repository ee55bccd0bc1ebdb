package node

import (
	"context"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

func meta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

func nodeUser(n string) *user.Info {
	return &user.Info{Name: UserPrefix + n, Groups: []string{Group, "system:authenticated"}}
}

func res(verb, group, resource, sub, ns, name string) *request.Info {
	return &request.Info{IsResourceRequest: true, Verb: verb, APIGroup: group, APIVersion: "v1",
		Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

// pod1 uses every kind of reference; it runs on n1.
func pod1() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: meta("a", "p1"), Spec: corev1.PodSpec{
		NodeName:           "n1",
		ServiceAccountName: "sa1",
		ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "pull"}},
		Volumes: []corev1.Volume{
			{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s1"}}},
			{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "c1"}}}},
			{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projcm"}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projsec"}}},
			}}}},
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim1"}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
			{Name: "csi", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d",
				NodePublishSecretRef: &corev1.LocalObjectReference{Name: "csisec"}}}},
		},
		InitContainers: []corev1.Container{{Name: "init", EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "initcm"}}}}}},
		Containers: []corev1.Container{{Name: "app", Env: []corev1.EnvVar{
			{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "envsec"}, Key: "k"}}},
		}}},
	}}
}

func fixture() *Authorizer {
	a := New()
	a.AddPod(pod1())
	a.AddPod(&corev1.Pod{ObjectMeta: meta("a", "p2"), Spec: corev1.PodSpec{NodeName: "n2", ServiceAccountName: "sa2",
		Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s2"}}}}}})
	a.AddPod(&corev1.Pod{ObjectMeta: meta("a", "unbound"), Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s3"}}}}}})
	a.AddPVC(&corev1.PersistentVolumeClaim{ObjectMeta: meta("a", "claim1"), Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv1"}})
	a.AddPV(&corev1.PersistentVolume{ObjectMeta: meta("", "pv1"), Spec: corev1.PersistentVolumeSpec{
		ClaimRef: &corev1.ObjectReference{Namespace: "a", Name: "claim1"},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "d",
			NodePublishSecretRef: &corev1.SecretReference{Name: "pvsec"}, // namespace of the claim
			NodeStageSecretRef:   &corev1.SecretReference{Namespace: "storage", Name: "stagesec"},
		}}}})
	a.AddPV(&corev1.PersistentVolume{ObjectMeta: meta("", "pv2"), Spec: corev1.PersistentVolumeSpec{
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "d",
			NodePublishSecretRef: &corev1.SecretReference{Namespace: "storage", Name: "pv2sec"}}}}})
	a.AddCSR(&certificatesv1.CertificateSigningRequest{ObjectMeta: meta("", "csr-n1"),
		Spec: certificatesv1.CertificateSigningRequestSpec{Username: UserPrefix + "n1"}})
	a.AddCSR(&certificatesv1.CertificateSigningRequest{ObjectMeta: meta("", "csr-n2"),
		Spec: certificatesv1.CertificateSigningRequestSpec{Username: UserPrefix + "n2"}})
	a.AddVolumeAttachment(&storagev1.VolumeAttachment{ObjectMeta: meta("", "va1"), Spec: storagev1.VolumeAttachmentSpec{NodeName: "n1"}})
	return a
}

type row struct {
	name     string
	info     *request.Info
	selector string
	n1, n2   authz.Decision
}

const (
	allow = authz.Allow
	none  = authz.NoOpinion
)

func TestNodeMatrix(t *testing.T) {
	a := fixture()
	rows := []row{
		{"secret volume", res("get", "", "secrets", "", "a", "s1"), "", allow, none},
		{"other node's secret", res("get", "", "secrets", "", "a", "s2"), "", none, allow},
		{"unbound pod's secret", res("get", "", "secrets", "", "a", "s3"), "", none, none},
		{"unrelated secret", res("get", "", "secrets", "", "kube-system", "token"), "", none, none},
		{"image pull secret", res("get", "", "secrets", "", "a", "pull"), "", allow, none},
		{"env secret", res("get", "", "secrets", "", "a", "envsec"), "", allow, none},
		{"projected secret", res("get", "", "secrets", "", "a", "projsec"), "", allow, none},
		{"csi secret", res("get", "", "secrets", "", "a", "csisec"), "", allow, none},
		{"pv secret in claim namespace", res("get", "", "secrets", "", "a", "pvsec"), "", allow, none},
		{"pv secret elsewhere", res("get", "", "secrets", "", "storage", "stagesec"), "", allow, none},
		{"unclaimed pv secret", res("get", "", "secrets", "", "storage", "pv2sec"), "", none, none},
		{"secret same name other ns", res("get", "", "secrets", "", "b", "s1"), "", none, none},
		{"watch one secret", res("watch", "", "secrets", "", "a", ""), "metadata.name=s1", allow, none},
		{"list secrets", res("list", "", "secrets", "", "a", ""), "", none, none},
		{"write secret", res("update", "", "secrets", "", "a", "s1"), "", none, none},
		{"delete secret", res("delete", "", "secrets", "", "a", "s1"), "", none, none},
		{"configmap volume", res("get", "", "configmaps", "", "a", "c1"), "", allow, none},
		{"projected configmap", res("get", "", "configmaps", "", "a", "projcm"), "", allow, none},
		{"init envFrom configmap", res("get", "", "configmaps", "", "a", "initcm"), "", allow, none},
		{"unrelated configmap", res("get", "", "configmaps", "", "a", "other"), "", none, none},
		{"service account", res("get", "", "serviceaccounts", "", "a", "sa1"), "", allow, none},
		{"other service account", res("get", "", "serviceaccounts", "", "a", "sa2"), "", none, allow},
		{"token for own pod's sa", res("create", "", "serviceaccounts", "token", "a", "sa1"), "", allow, none},
		{"token for other sa", res("create", "", "serviceaccounts", "token", "a", "sa2"), "", none, allow},
		{"update service account", res("update", "", "serviceaccounts", "", "a", "sa1"), "", none, none},
		{"pvc", res("get", "", "persistentvolumeclaims", "", "a", "claim1"), "", allow, none},
		{"ephemeral pvc", res("get", "", "persistentvolumeclaims", "", "a", "p1-scratch"), "", allow, none},
		{"pvc status", res("patch", "", "persistentvolumeclaims", "status", "a", "claim1"), "", allow, none},
		{"pvc update", res("update", "", "persistentvolumeclaims", "", "a", "claim1"), "", none, none},
		{"pv", res("get", "", "persistentvolumes", "", "", "pv1"), "", allow, none},
		{"unclaimed pv", res("get", "", "persistentvolumes", "", "", "pv2"), "", none, none},
		{"list pvs", res("list", "", "persistentvolumes", "", "", ""), "", none, none},

		{"own node", res("get", "", "nodes", "", "", "n1"), "", allow, none},
		{"other node", res("get", "", "nodes", "", "", "n2"), "", none, allow},
		{"list nodes", res("list", "", "nodes", "", "", ""), "", none, none},
		{"watch own node by selector", res("watch", "", "nodes", "", "", ""), "metadata.name=n1", allow, none},
		{"update own node", res("update", "", "nodes", "", "", "n1"), "", allow, none},
		{"patch own node status", res("patch", "", "nodes", "status", "", "n1"), "", allow, none},
		{"patch other node status", res("patch", "", "nodes", "status", "", "n2"), "", none, allow},
		{"create node", res("create", "", "nodes", "", "", ""), "", allow, allow},
		{"delete own node", res("delete", "", "nodes", "", "", "n1"), "", none, none},
		{"node proxy", res("get", "", "nodes", "proxy", "", "n1"), "", none, none},

		{"own lease", res("update", "coordination.k8s.io", "leases", "", LeaseNamespace, "n1"), "", allow, none},
		{"get own lease", res("get", "coordination.k8s.io", "leases", "", LeaseNamespace, "n1"), "", allow, none},
		{"create lease", res("create", "coordination.k8s.io", "leases", "", LeaseNamespace, ""), "", allow, allow},
		{"other lease", res("update", "coordination.k8s.io", "leases", "", LeaseNamespace, "n2"), "", none, allow},
		{"lease elsewhere", res("update", "coordination.k8s.io", "leases", "", "kube-system", "n1"), "", none, none},
		{"list leases", res("list", "coordination.k8s.io", "leases", "", LeaseNamespace, ""), "", none, none},

		{"create csr", res("create", "certificates.k8s.io", "certificatesigningrequests", "", "", ""), "", allow, allow},
		{"own csr", res("get", "certificates.k8s.io", "certificatesigningrequests", "", "", "csr-n1"), "", allow, none},
		{"watch own csr", res("watch", "certificates.k8s.io", "certificatesigningrequests", "", "", ""), "metadata.name=csr-n1", allow, none},
		{"other csr", res("get", "certificates.k8s.io", "certificatesigningrequests", "", "", "csr-n2"), "", none, allow},
		{"unknown csr", res("get", "certificates.k8s.io", "certificatesigningrequests", "", "", "csr-x"), "", none, none},
		{"list csrs", res("list", "certificates.k8s.io", "certificatesigningrequests", "", "", ""), "", none, none},
		{"approve csr", res("update", "certificates.k8s.io", "certificatesigningrequests", "approval", "", "csr-n1"), "", none, none},

		{"own pod", res("get", "", "pods", "", "a", "p1"), "", allow, none},
		{"other pod", res("get", "", "pods", "", "a", "p2"), "", none, allow},
		{"list own pods", res("list", "", "pods", "", "", ""), "spec.nodeName=n1", allow, none},
		{"watch own pods", res("watch", "", "pods", "", "", ""), "spec.nodeName=n1,status.phase=Running", allow, none},
		{"list all pods", res("list", "", "pods", "", "", ""), "", none, none},
		{"list pods bad selector", res("list", "", "pods", "", "", ""), "spec.nodeName!=n1", none, none},
		{"pod status", res("patch", "", "pods", "status", "a", "p1"), "", allow, allow},
		{"mirror pod", res("create", "", "pods", "", "a", ""), "", allow, allow},
		{"eviction", res("create", "", "pods", "eviction", "a", "p1"), "", allow, allow},
		{"exec", res("create", "", "pods", "exec", "a", "p1"), "", none, none},
		{"update pod", res("update", "", "pods", "", "a", "p1"), "", none, none},

		{"volume attachment", res("get", "storage.k8s.io", "volumeattachments", "", "", "va1"), "", allow, none},
		{"services (static rule)", res("list", "", "services", "", "", ""), "", allow, allow},
		{"events (static rule)", res("create", "", "events", "", "a", ""), "", allow, allow},
		{"tokenreview (static rule)", res("create", "authentication.k8s.io", "tokenreviews", "", "", ""), "", allow, allow},
		{"deployments", res("list", "apps", "deployments", "", "", ""), "", none, none},
		{"clusterroles", res("create", "rbac.authorization.k8s.io", "clusterrolebindings", "", "", ""), "", none, none},
		{"non-resource", &request.Info{Verb: "get", Path: "/api"}, "", none, none},
	}
	for _, r := range rows {
		for _, n := range []struct {
			node string
			want authz.Decision
		}{{"n1", r.n1}, {"n2", r.n2}} {
			t.Run(r.name+"/"+n.node, func(t *testing.T) {
				ctx := context.Background()
				if r.selector != "" {
					ctx = WithFieldSelector(ctx, r.selector)
				}
				d, reason, err := a.Authorize(ctx, authz.Attributes{User: nodeUser(n.node), Info: r.info})
				if err != nil {
					t.Fatal(err)
				}
				if d != n.want {
					t.Errorf("decision = %v, want %v (%s)", d, n.want, reason)
				}
				if d == authz.Deny {
					t.Error("the Node authorizer must never deny")
				}
			})
		}
	}
}

func TestNotANode(t *testing.T) {
	a := fixture()
	secret := res("get", "", "secrets", "", "a", "s1")
	tests := []struct {
		name       string
		u          *user.Info
		wantReason bool
	}{
		{"ordinary user", &user.Info{Name: "alice", Groups: []string{Group}}, false},
		{"node name without group", &user.Info{Name: UserPrefix + "n1", Groups: []string{"system:authenticated"}}, false},
		{"empty node name", &user.Info{Name: UserPrefix, Groups: []string{Group}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, reason, err := a.Authorize(context.Background(), authz.Attributes{User: tt.u, Info: secret})
			if err != nil || d != authz.NoOpinion || (reason != "") != tt.wantReason {
				t.Errorf("got %v %q %v", d, reason, err)
			}
		})
	}
	if _, _, err := a.Authorize(context.Background(), authz.Attributes{User: nodeUser("n1")}); err == nil {
		t.Error("missing request info accepted")
	}
}

func TestGraphUpdates(t *testing.T) {
	a := New()
	ctx := context.Background()
	can := func(node, secret string) bool {
		d, _, err := a.Authorize(ctx, authz.Attributes{User: nodeUser(node), Info: res("get", "", "secrets", "", "a", secret)})
		if err != nil {
			t.Fatal(err)
		}
		return d == authz.Allow
	}
	withSecret := func(name, node, secret string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: meta("a", name), Spec: corev1.PodSpec{NodeName: node,
			Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}}}}
	}
	steps := []struct {
		name   string
		do     func()
		n1, n2 bool
	}{
		{"empty", func() {}, false, false},
		{"pod scheduled on n1", func() { a.AddPod(withSecret("p", "n1", "s")) }, true, false},
		{"second pod shares the secret", func() { a.AddPod(withSecret("q", "n1", "s")) }, true, false},
		{"first pod deleted", func() { a.DeletePod(withSecret("p", "", "")) }, true, false},
		{"second pod moves to n2", func() { a.UpdatePod(withSecret("q", "n2", "s")) }, false, true},
		{"second pod uses another secret", func() { a.UpdatePod(withSecret("q", "n2", "t")) }, false, false},
		{"second pod unbound", func() { a.UpdatePod(withSecret("q", "", "s")) }, false, false},
		{"nil ignored", func() { a.AddPod(nil); a.DeletePod(nil); a.AddPV(nil); a.AddPVC(nil); a.AddCSR(nil) }, false, false},
		{"pvc path", func() {
			a.AddPod(&corev1.Pod{ObjectMeta: meta("a", "r"), Spec: corev1.PodSpec{NodeName: "n1", Volumes: []corev1.Volume{{Name: "d",
				VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}}}}})
			a.AddPV(&corev1.PersistentVolume{ObjectMeta: meta("", "pv"), Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
					NodePublishSecretRef: &corev1.SecretReference{Namespace: "a", Name: "s"}}}}})
		}, false, false},
		{"claim bound", func() {
			a.AddPVC(&corev1.PersistentVolumeClaim{ObjectMeta: meta("a", "c"), Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv"}})
		}, true, false},
		{"pv loses secret", func() { a.AddPV(&corev1.PersistentVolume{ObjectMeta: meta("", "pv")}) }, false, false},
	}
	for _, s := range steps {
		s.do()
		if got := can("n1", "s"); got != s.n1 {
			t.Errorf("%s: n1 = %v, want %v", s.name, got, s.n1)
		}
		if got := can("n2", "s"); got != s.n2 {
			t.Errorf("%s: n2 = %v, want %v", s.name, got, s.n2)
		}
	}
	a.DeletePod(&corev1.Pod{ObjectMeta: meta("a", "r")})
	a.DeletePVC(&corev1.PersistentVolumeClaim{ObjectMeta: meta("a", "c")})
	a.DeletePV(&corev1.PersistentVolume{ObjectMeta: meta("", "pv")})
	if len(a.g.pods)+len(a.g.reach)+len(a.g.pvcVolume)+len(a.g.pvClaims)+len(a.g.pvSecrets)+len(a.g.secretPVs) != 0 {
		t.Errorf("graph not empty after deletes: %+v", a.g)
	}
}

func TestConcurrentUse(t *testing.T) {
	a := fixture()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			p := pod1()
			if i%2 == 0 {
				a.UpdatePod(p)
			} else {
				a.DeletePod(p)
			}
		}
	}()
	for range 200 {
		if _, _, err := a.Authorize(context.Background(), authz.Attributes{User: nodeUser("n1"), Info: res("get", "", "secrets", "", "a", "s1")}); err != nil {
			t.Fatal(err)
		}
	}
	<-done
}

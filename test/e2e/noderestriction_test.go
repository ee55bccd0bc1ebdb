package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kastle-dev/kastle/internal/pki"
)

// serverCA reads the cluster CA (certificate and key) of s's data
// directory, to issue test identities from it.
func (s *server) serverCA(t testing.TB) *pki.CA {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(s.dataDir, "pki", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCertsPEM(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &pki.CA{Cert: certs[0], Key: key}
}

// certClient returns a client-go client for s authenticated by a client
// certificate for cn in orgs, issued by the server's own CA.
func (s *server) certClient(t testing.TB, cn string, orgs ...string) *kubernetes.Clientset {
	t.Helper()
	ca := s.serverCA(t)
	caPEM := pki.EncodeCertPEM(ca.Cert)
	certPEM, clientKey, err := ca.IssueClientCert(cn, orgs, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &rest.Config{Host: s.url, TLSClientConfig: rest.TLSClientConfig{CAData: caPEM, CertData: certPEM, KeyData: clientKey}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestNodeRestrictionMatrix is the negative-test matrix of the four
// authorization gaps kube-apiserver closes, run with real client
// certificates for two nodes (system:node:n1 and n2 in system:nodes) and a
// non-admin RBAC writer. Every refused case is paired with its allowed
// counterpart, so no case passes by refusing everything; refused writes
// are checked to leave the object unchanged. The upstream rule each case
// mirrors is named in its label.
func TestNodeRestrictionMatrix(t *testing.T) {
	t.Parallel()
	s := env.shared
	ctx := context.Background()
	ns := namespace(t)
	admin := s.clientset(t)
	suffix := strings.ToLower(ns)
	n1Name, n2Name := "e2e-"+suffix+"-n1", "e2e-"+suffix+"-n2"
	n1 := s.certClient(t, "system:node:"+n1Name, "system:nodes")
	n2 := s.certClient(t, "system:node:"+n2Name, "system:nodes")
	t.Cleanup(func() {
		for _, n := range []string{n1Name, n2Name} {
			_ = admin.CoreV1().Nodes().Delete(ctx, n, metav1.DeleteOptions{})
		}
	})

	var failed []string
	// expect records one case: want "ok" or "forbidden" (or another
	// Status reason checked by the helper below).
	expect := func(label, want string, err error) {
		t.Helper()
		got := "ok"
		switch {
		case err == nil:
		case apierrors.IsForbidden(err):
			got = "forbidden"
		case apierrors.IsBadRequest(err):
			got = "badrequest"
		default:
			got = "error: " + err.Error()
		}
		if got != want {
			failed = append(failed, label)
			t.Errorf("%s: got %s (%v), want %s", label, got, err, want)
		}
	}

	// --- Point 2: NodeRestriction on Node updates (labels and taints). ---
	// Upstream: a kubelet may register with taints, but never modify them
	// afterwards; labels under node-restriction.kubernetes.io/ and
	// kubernetes.io/ / k8s.io/ outside the kubelet's own set may not be
	// added, changed or removed.
	noSchedule := corev1.Taint{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule}
	for _, n := range []struct {
		name string
		c    *kubernetes.Clientset
	}{{n1Name, n1}, {n2Name, n2}} {
		_, err := n.c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name,
			Labels: map[string]string{"kubernetes.io/hostname": n.name}}, Spec: corev1.NodeSpec{Taints: []corev1.Taint{noSchedule}}}, metav1.CreateOptions{})
		expect("node registers itself with a taint (allowed)", "ok", err)
	}
	_, err := n1.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + suffix + "-n3"}}, metav1.CreateOptions{})
	expect("node registers another node", "forbidden", err)
	_, err = n1.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n1Name + "x",
		Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}}}, metav1.CreateOptions{})
	expect("node registers (another name) with node-role label", "forbidden", err)

	// The admin gives n1 a role and a restricted pool label.
	patch := func(c *kubernetes.Clientset, name string, body string, sub ...string) error {
		_, err := c.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{}, sub...)
		return err
	}
	if err := patch(admin, n1Name, `{"metadata":{"labels":{"node-role.kubernetes.io/worker":"","node-restriction.kubernetes.io/pool":"a"}}}`); err != nil {
		t.Fatal(err)
	}
	before, err := admin.CoreV1().Nodes().Get(ctx, n1Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodeCases := []struct {
		label, body, sub, want string
	}{
		{"node adds a node-restriction.kubernetes.io/ label", `{"metadata":{"labels":{"node-restriction.kubernetes.io/trusted":"yes"}}}`, "", "forbidden"},
		{"node changes its node-restriction.kubernetes.io/ label", `{"metadata":{"labels":{"node-restriction.kubernetes.io/pool":"b"}}}`, "", "forbidden"},
		{"node removes its node-restriction.kubernetes.io/ label", `{"metadata":{"labels":{"node-restriction.kubernetes.io/pool":null}}}`, "", "forbidden"},
		{"node removes its node-role.kubernetes.io/ label", `{"metadata":{"labels":{"node-role.kubernetes.io/worker":null}}}`, "", "forbidden"},
		{"node adds a node-role.kubernetes.io/ label", `{"metadata":{"labels":{"node-role.kubernetes.io/control-plane":""}}}`, "", "forbidden"},
		{"node adds an unknown kubernetes.io/ label", `{"metadata":{"labels":{"kubernetes.io/made-up":"x"}}}`, "", "forbidden"},
		{"node adds a restricted label through nodes/status", `{"metadata":{"labels":{"node-restriction.kubernetes.io/trusted":"yes"}}}`, "status", "forbidden"},
		{"node removes its NoSchedule taint", `{"spec":{"taints":null}}`, "", "forbidden"},
		{"node adds a taint", `{"spec":{"taints":[{"key":"dedicated","value":"infra","effect":"NoSchedule"},{"key":"x","effect":"NoExecute"}]}}`, "", "forbidden"},
		{"node changes its taint's value", `{"spec":{"taints":[{"key":"dedicated","value":"other","effect":"NoSchedule"}]}}`, "", "forbidden"},
		{"node writes another node's labels", `{"metadata":{"labels":{"example.com/rack":"7"}}}`, "other", "forbidden"},
	}
	for _, tc := range nodeCases {
		target := n1Name
		sub := []string{}
		if tc.sub == "other" {
			target = n2Name
		} else if tc.sub != "" {
			sub = []string{tc.sub}
		}
		expect(tc.label, tc.want, patch(n1, target, tc.body, sub...))
	}
	after, err := admin.CoreV1().Nodes().Get(ctx, n1Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("refused node writes changed the node: labels %v taints %v (before %v %v)", after.Labels, after.Spec.Taints, before.Labels, before.Spec.Taints)
	}
	// Allowed counterparts: its own labels (while the taint and the
	// restricted labels stay as they are), kubelet labels, status.
	expect("node adds its own domain label (allowed)", "ok", patch(n1, n1Name, `{"metadata":{"labels":{"example.com/rack":"7"}}}`))
	expect("node sets node.kubernetes.io/instance-type (allowed)", "ok", patch(n1, n1Name, `{"metadata":{"labels":{"node.kubernetes.io/instance-type":"m1"}}}`))
	expect("node writes its status (allowed)", "ok", patch(n1, n1Name, `{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"ok","lastHeartbeatTime":"2026-01-01T00:00:00Z","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`, "status"))
	final, err := admin.CoreV1().Nodes().Get(ctx, n1Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// (The node controller manages the not-ready/unreachable taints
	// beside the admin's one.)
	dedicated := 0
	for _, tt := range final.Spec.Taints {
		if tt.Key == "dedicated" {
			dedicated++
		}
	}
	if final.Labels["node-role.kubernetes.io/worker"] != "" || final.Labels["node-restriction.kubernetes.io/pool"] != "a" || dedicated != 1 || final.Labels["example.com/rack"] != "7" {
		t.Errorf("node after the allowed writes: labels %v taints %v", final.Labels, final.Spec.Taints)
	}

	// --- Points 3 and 4: mirror pods and service-account tokens. ---
	core := admin.CoreV1()
	for _, name := range []string{"mirror-secret", "pod-secret"} {
		if _, err := core.Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := core.ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "mirror-cm"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []string{"workload", "escalator", "other"} {
		if _, err := core.ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	// escalator is cluster-admin: the prize of the chained attack.
	crbName := "e2e-" + suffix + "-escalator"
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: crbName},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "escalator"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.RbacV1().ClusterRoleBindings().Delete(ctx, crbName, metav1.DeleteOptions{}) })

	mirror := func(name, node string, edit func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1.MirrorPodAnnotationKey: "hash"}},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "registry.example/static:1"}}}}
		if edit != nil {
			edit(p)
		}
		return p
	}
	createPod := func(c *kubernetes.Clientset, p *corev1.Pod) error {
		_, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		return err
	}
	// Upstream NodeRestriction: a node's mirror pod may reference no
	// service account, secret, config map, claim or resource claim.
	expect("node creates a mirror pod referencing a secret", "forbidden", createPod(n1, mirror("m-secret", n1Name, func(p *corev1.Pod) {
		p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "mirror-secret"}}}}
	})))
	expect("node creates a mirror pod mounting a secret", "forbidden", createPod(n1, mirror("m-secret-vol", n1Name, func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "mirror-secret"}}}}
	})))
	expect("node creates a mirror pod referencing a config map", "forbidden", createPod(n1, mirror("m-cm", n1Name, func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "mirror-cm"}}}}}
	})))
	expect("node creates a mirror pod running as a service account", "forbidden", createPod(n1, mirror("m-sa", n1Name, func(p *corev1.Pod) { p.Spec.ServiceAccountName = "escalator" })))
	expect("node creates a mirror pod referencing a claim", "forbidden", createPod(n1, mirror("m-pvc", n1Name, func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}
	})))
	expect("node creates a mirror pod referencing a resource claim", "forbidden", createPod(n1, mirror("m-rc", n1Name, func(p *corev1.Pod) {
		tmpl := "gpu"
		p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: "gpu", ResourceClaimTemplateName: &tmpl}}
	})))
	expect("node creates a mirror pod bound to another node", "forbidden", createPod(n1, mirror("m-other", n2Name, nil)))
	expect("node creates a pod that is not a mirror pod", "forbidden", createPod(n1, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "plain"},
		Spec: corev1.PodSpec{NodeName: n1Name, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}))
	expect("node creates a mirror pod without references (allowed)", "ok", createPod(n1, mirror("m-clean", n1Name, nil)))
	n1Node, err := admin.CoreV1().Nodes().Get(ctx, n1Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	expect("node creates a mirror pod owned by its Node (allowed)", "ok", createPod(n1, mirror("m-owned", n1Name, func(p *corev1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n1Name, UID: n1Node.UID, Controller: &yes}}
	})))
	// Upstream ServiceAccount admission: no mirror pod, whoever creates
	// it, references secrets or a service account.
	expect("admin creates a mirror pod referencing a secret", "forbidden", createPod(admin, mirror("m-admin-secret", n2Name, func(p *corev1.Pod) {
		p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "mirror-secret"}}}}
	})))
	expect("admin creates a mirror pod with a service account", "forbidden", createPod(admin, mirror("m-admin-sa", n2Name, func(p *corev1.Pod) { p.Spec.ServiceAccountName = "escalator" })))
	expect("admin creates a mirror pod without references (allowed)", "ok", createPod(admin, mirror("m-admin-clean", n2Name, nil)))

	// Real workloads (created by the admin): p1 on n1 and p2 on n2 run as
	// "workload"; p1 reads pod-secret.
	var pods = map[string]*corev1.Pod{}
	for _, pw := range []struct{ name, node string }{{"p1", n1Name}, {"p2", n2Name}} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pw.name, Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{NodeName: pw.node, ServiceAccountName: "workload", Containers: []corev1.Container{{Name: "c", Image: "x",
				EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "pod-secret"}}}}}}}}
		out, err := core.Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods[pw.name] = out
	}
	// The Node authorizer's graph follows pods through a watch.
	eventually(t, 10*time.Second, func() string {
		if _, err := n1.CoreV1().Secrets(ns).Get(ctx, "pod-secret", metav1.GetOptions{}); err != nil {
			return "n1 cannot yet read the secret of its pod: " + err.Error()
		}
		return ""
	})
	// A refused mirror pod leaves no edge: what it referenced stays
	// out of the node's reach (the allowed counterpart is pod-secret).
	_, err = n1.CoreV1().Secrets(ns).Get(ctx, "mirror-secret", metav1.GetOptions{})
	expect("node reads the secret of a refused mirror pod", "forbidden", err)
	_, err = n1.CoreV1().ConfigMaps(ns).Get(ctx, "mirror-cm", metav1.GetOptions{})
	expect("node reads the config map of a refused mirror pod", "forbidden", err)
	_, err = n1.CoreV1().Secrets(ns).Get(ctx, "pod-secret", metav1.GetOptions{})
	expect("node reads the secret of its own pod (allowed)", "ok", err)

	// Upstream NodeRestriction: a node's token must be bound to a pod on
	// that node (kind Pod, name and uid); the Node authorizer limits it to
	// service accounts of its pods.
	tokenFor := func(c *kubernetes.Clientset, sa string, ref *authenticationv1.BoundObjectReference) (*authenticationv1.TokenRequest, error) {
		return c.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref}}, metav1.CreateOptions{})
	}
	podRef := func(name string, uid types.UID) *authenticationv1.BoundObjectReference {
		return &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: name, UID: uid}
	}
	tr, err := tokenFor(n1, "workload", podRef("p1", pods["p1"].UID))
	expect("node asks a token bound to its own pod (allowed)", "ok", err)
	_, err = tokenFor(n1, "workload", nil)
	expect("node asks an unbound token for its pod's service account", "forbidden", err)
	_, err = tokenFor(n1, "workload", podRef("p2", pods["p2"].UID))
	expect("node asks a token bound to another node's pod", "forbidden", err)
	_, err = tokenFor(n1, "workload", podRef("p1", pods["p2"].UID))
	expect("node asks a token bound to its pod with a wrong uid", "forbidden", err)
	_, err = tokenFor(n1, "workload", podRef("p1", ""))
	expect("node asks a token bound to its pod without a uid", "forbidden", err)
	_, err = tokenFor(n1, "workload", &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Secret", Name: "pod-secret"})
	expect("node asks a token bound to a secret", "forbidden", err)
	_, err = tokenFor(n1, "escalator", podRef("p1", pods["p1"].UID))
	expect("node asks a token for a service account none of its pods uses", "forbidden", err)
	// Upstream TokenRequest: the bound pod must run as that account.
	_, err = tokenFor(admin, "other", podRef("p1", pods["p1"].UID))
	expect("admin asks a token for another account bound to p1", "badrequest", err)
	_, err = tokenFor(admin, "workload", podRef("p1", pods["p1"].UID))
	expect("admin asks a token for p1's account bound to p1 (allowed)", "ok", err)

	// The token n1 got works, as workload, and only while p1 exists.
	if tr != nil {
		review, err := admin.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: tr.Status.Token}}, metav1.CreateOptions{})
		if err != nil || !review.Status.Authenticated || review.Status.User.Username != "system:serviceaccount:"+ns+":workload" {
			t.Errorf("token bound to p1: %v %+v", err, review)
		}
	}

	// The chain of the issue: a mirror pod running as cluster-admin's
	// account, then an unbound token for it — both refused, so the node
	// cannot list secrets cluster-wide.
	expect("chain: mirror pod as escalator", "forbidden", createPod(n1, mirror("chain", n1Name, func(p *corev1.Pod) { p.Spec.ServiceAccountName = "escalator" })))
	_, err = tokenFor(n1, "escalator", nil)
	expect("chain: unbound token for escalator", "forbidden", err)
	_, err = n1.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	expect("chain: node lists every secret", "forbidden", err)

	// --- pods/status: upstream refuses label changes by a node. ---
	statusPatch := func(c *kubernetes.Clientset, pod, body string) error {
		_, err := c.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType, []byte(body), metav1.PatchOptions{}, "status")
		return err
	}
	expect("node relabels its pod through pods/status", "forbidden", statusPatch(n1, "p1", `{"metadata":{"labels":{"app":"db"}}}`))
	expect("node adds a label to its pod through pods/status", "forbidden", statusPatch(n1, "p1", `{"metadata":{"labels":{"extra":"x"}},"status":{"message":"m"}}`))
	expect("node writes another node's pod status", "forbidden", statusPatch(n1, "p2", `{"status":{"message":"m"}}`))
	expect("node writes its pod's status (allowed)", "ok", statusPatch(n1, "p1", `{"status":{"message":"running here"}}`))
	p1, err := core.Pods(ns).Get(ctx, "p1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p1.Labels["app"] != "web" || len(p1.Labels) != 1 || p1.Status.Message != "running here" {
		t.Errorf("p1 after the status writes: labels %v message %q", p1.Labels, p1.Status.Message)
	}
	// An admin with pods/status may change labels there, as upstream.
	expect("admin relabels through pods/status (allowed)", "ok", statusPatch(admin, "p2", `{"metadata":{"labels":{"tier":"front"}}}`))

	// --- Point 1: aggregated ClusterRoles need full rights or escalate. ---
	writer := "e2e-" + suffix + "-role-writer"
	crName := "e2e-" + suffix + "-writes-clusterroles"
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: crName},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, Verbs: []string{"get", "create", "update", "patch"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: crName},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: crName},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: writer}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	escName := crName + "-escalate"
	t.Cleanup(func() {
		for _, n := range []string{crName, escName} {
			_ = admin.RbacV1().ClusterRoleBindings().Delete(ctx, n, metav1.DeleteOptions{})
			_ = admin.RbacV1().ClusterRoles().Delete(ctx, n, metav1.DeleteOptions{})
		}
		for _, n := range []string{"agg-a", "agg-b", "plain", "agg-esc"} {
			_ = admin.RbacV1().ClusterRoles().Delete(ctx, "e2e-"+suffix+"-"+n, metav1.DeleteOptions{})
		}
	})
	w := s.certClient(t, writer)
	aggRule := &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}}}
	// Anything the writer may create is only what it holds: wait until
	// its binding is in effect (a plain role with a rule it holds).
	eventually(t, 10*time.Second, func() string {
		_, err := w.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + suffix + "-plain"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return "writer creating a plain clusterrole: " + err.Error()
		}
		return ""
	})
	_, err = w.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + suffix + "-agg-a"}, AggregationRule: aggRule}, metav1.CreateOptions{})
	expect("writer creates an aggregated clusterrole", "forbidden", err)
	if err != nil && !strings.Contains(err.Error(), "aggregationRule") {
		t.Errorf("refusal does not name the aggregationRule: %v", err)
	}
	_, err = w.RbacV1().ClusterRoles().Patch(ctx, "e2e-"+suffix+"-plain", types.MergePatchType,
		[]byte(`{"aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"rbac.authorization.k8s.io/aggregate-to-admin":"true"}}]}}`), metav1.PatchOptions{})
	expect("writer adds an aggregationRule to its clusterrole", "forbidden", err)
	plain, err := admin.RbacV1().ClusterRoles().Get(ctx, "e2e-"+suffix+"-plain", metav1.GetOptions{})
	if err != nil || plain.AggregationRule != nil {
		t.Errorf("refused patch changed the role: %v %+v", err, plain)
	}
	_, err = w.RbacV1().ClusterRoles().Patch(ctx, "e2e-"+suffix+"-plain", types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"a"}}}`), metav1.PatchOptions{})
	expect("writer relabels its clusterrole (allowed)", "ok", err)
	// With escalate on clusterroles the same create is allowed, as upstream.
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: escName},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, Verbs: []string{"escalate"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: escName},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: escName},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: writer}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		_, err := w.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + suffix + "-agg-esc"}, AggregationRule: aggRule}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return "writer with escalate creating an aggregated clusterrole: " + err.Error()
		}
		return ""
	})

	if len(failed) > 0 {
		out, _ := json.MarshalIndent(failed, "", "  ")
		t.Log(fmt.Sprintf("failed cases: %s", out))
	}
}

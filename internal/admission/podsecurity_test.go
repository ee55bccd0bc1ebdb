package admission

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/policy"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/registry/registrytest"
)

func TestPodSecurityEvaluator(t *testing.T) {
	v := podSecurityVersion
	if _, err := policy.NewEvaluator(policy.DefaultChecks(), &v); err != nil {
		t.Fatal(err)
	}
}

func TestPodSecurity(t *testing.T) {
	ctx := context.Background()
	cat, _ := apis.NewCatalogue()
	podsR, _ := cat.Lookup("", "v1", "pods")
	nsR, _ := cat.Lookup("", "v1", "namespaces")
	deployR, _ := cat.Lookup("apps", "v1", "deployments")
	namespaces := registrytest.NewStore(t, testClient, "", "namespaces")
	pods := registrytest.NewStore(t, testClient, "", "pods")
	for name, labels := range map[string]map[string]string{
		"open":       nil,
		"restricted": {"pod-security.kubernetes.io/enforce": "restricted"},
		"baseline":   {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"},
	} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
		if _, err := namespaces.Create(ctx, "", ns, registry.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var warnings []string
	p := newPodSecurity(namespaces, pods, func(_ context.Context, msg string) { warnings = append(warnings, msg) })
	privileged := func() *corev1.Pod {
		yes := true
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "x", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}}
	}
	plain := func() *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
	}
	create := func(ns string, pod *corev1.Pod) error {
		warnings = nil
		return p.Validate(ctx, &registry.Attributes{Operation: registry.Create, Resource: podsR, Namespace: ns, Name: pod.Name, Object: pod})
	}

	if err := create("open", privileged()); err != nil || len(warnings) > 0 {
		t.Errorf("unlabelled namespace: %v %v", err, warnings)
	}
	err := create("restricted", privileged())
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true)`) {
		t.Errorf("restricted: %v", err)
	}
	if err := create("baseline", privileged()); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `"baseline:latest"`) {
		t.Errorf("baseline, privileged: %v", err)
	}
	// Baseline admits a plain pod, but warns at restricted.
	if err := create("baseline", plain()); err != nil {
		t.Errorf("baseline, plain: %v", err)
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], `would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false`) {
		t.Errorf("warnings %q", warnings)
	}

	// A metadata-only update of a stored violating pod is not re-checked;
	// a spec change is.
	old := privileged()
	upd := old.DeepCopy()
	upd.Labels = map[string]string{"a": "b"}
	if err := p.Validate(ctx, &registry.Attributes{Operation: registry.Update, Resource: podsR, Namespace: "restricted", Name: "p", Object: upd, OldObject: old}); err != nil {
		t.Errorf("metadata-only update: %v", err)
	}
	upd.Spec.Containers[0].Image = "y"
	if err := p.Validate(ctx, &registry.Attributes{Operation: registry.Update, Resource: podsR, Namespace: "restricted", Name: "p", Object: upd, OldObject: old}); !apierrors.IsForbidden(err) {
		t.Errorf("spec update: %v", err)
	}

	// Workload templates are warned about, never refused.
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d"}}
	d.Spec.Template.Spec = privileged().Spec
	warnings = nil
	if err := p.Validate(ctx, &registry.Attributes{Operation: registry.Create, Resource: deployR, Namespace: "restricted", Name: "d", Object: d}); err != nil {
		t.Errorf("deployment: %v", err)
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], `would violate PodSecurity "restricted:latest"`) {
		t.Errorf("deployment warnings %q", warnings)
	}

	// Bad label values are 422 naming the label.
	bad := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bad", Labels: map[string]string{"pod-security.kubernetes.io/enforce": "strict"}}}
	err = p.Validate(ctx, &registry.Attributes{Operation: registry.Create, Resource: nsR, Name: "bad", Object: bad})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "metadata.labels[pod-security.kubernetes.io/enforce]") {
		t.Errorf("bad label: %v", err)
	}

	// Tightening a namespace names the existing pods that would be refused.
	if _, err := pods.Create(ctx, "open", privileged(), registry.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	oldNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "open"}}
	newNS := oldNS.DeepCopy()
	newNS.Labels = map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}
	warnings = nil
	if err := p.Validate(ctx, &registry.Attributes{Operation: registry.Update, Resource: nsR, Name: "open", Object: newNS, OldObject: oldNS}); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], `existing pods in namespace "open" violate the new PodSecurity enforce level "baseline:latest"`) ||
		warnings[1] != "p: privileged" {
		t.Errorf("label change warnings %q", warnings)
	}
}

func TestDefaultingPlugins(t *testing.T) {
	ctx := context.Background()
	cat, _ := apis.NewCatalogue()
	podsR, _ := cat.Lookup("", "v1", "pods")
	nodesR, _ := cat.Lookup("", "v1", "nodes")
	pvcR, _ := cat.Lookup("", "v1", "persistentvolumeclaims")

	n := &corev1.Node{}
	if err := (TaintNodesByCondition{}).Admit(ctx, &registry.Attributes{Operation: registry.Create, Resource: nodesR, Object: n}); err != nil {
		t.Fatal(err)
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != corev1.TaintNodeNotReady || n.Spec.Taints[0].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("node taints %v", n.Spec.Taints)
	}

	secs := int64(10)
	p := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, TolerationSeconds: &secs}}}}
	if err := (DefaultTolerationSeconds{}).Admit(ctx, &registry.Attributes{Operation: registry.Create, Resource: podsR, Object: p}); err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.Tolerations) != 2 || *p.Spec.Tolerations[0].TolerationSeconds != 10 ||
		p.Spec.Tolerations[1].Key != corev1.TaintNodeNotReady || *p.Spec.Tolerations[1].TolerationSeconds != 300 {
		t.Errorf("tolerations %+v", p.Spec.Tolerations)
	}
	all := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}}}
	_ = (DefaultTolerationSeconds{}).Admit(ctx, &registry.Attributes{Operation: registry.Create, Resource: podsR, Object: all})
	if len(all.Spec.Tolerations) != 1 {
		t.Errorf("a pod tolerating everything got %v", all.Spec.Tolerations)
	}

	pvc := &corev1.PersistentVolumeClaim{}
	_ = (StorageObjectInUseProtection{}).Admit(ctx, &registry.Attributes{Operation: registry.Create, Resource: pvcR, Object: pvc})
	if len(pvc.Finalizers) != 1 || pvc.Finalizers[0] != "kubernetes.io/pvc-protection" {
		t.Errorf("pvc finalizers %v", pvc.Finalizers)
	}
}

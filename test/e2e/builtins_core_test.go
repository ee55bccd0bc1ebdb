package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
)

// TestBuiltinsCoreKubectl: the kubectl generators of the new built-ins
// work against kastle, the objects come back defaulted, `kubectl get all`
// lists the new "all" kinds, `kubectl scale rc` goes through the scale
// subresource, and invalid objects are refused with 422 naming the field.
func TestBuiltinsCoreKubectl(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	mustKubectl(t, "-n", ns, "create", "job", "pi", "--image=busybox:1.36", "--", "echo", "hi")
	got := mustKubectl(t, "-n", ns, "get", "job", "pi", "-o",
		`jsonpath={.spec.completions} {.spec.parallelism} {.spec.backoffLimit} {.spec.completionMode} {.spec.suspend} {.spec.podReplacementPolicy} {.metadata.labels.job-name} {.spec.template.metadata.labels.batch\.kubernetes\.io/job-name} {.spec.template.spec.terminationGracePeriodSeconds}`)
	if got != "1 1 6 NonIndexed false TerminatingOrFailed pi pi 30" {
		t.Errorf("job defaults: %q", got)
	}
	uid := mustKubectl(t, "-n", ns, "get", "job", "pi", "-o", "jsonpath={.metadata.uid}")
	if sel := mustKubectl(t, "-n", ns, "get", "job", "pi", "-o", `jsonpath={.spec.selector.matchLabels.batch\.kubernetes\.io/controller-uid} {.spec.template.metadata.labels.controller-uid}`); sel != uid+" "+uid {
		t.Errorf("generated selector %q, want the uid %s", sel, uid)
	}
	if got := mustKubectl(t, "-n", ns, "get", "jobs", "--field-selector=status.successful=0", "-o", "name"); strings.TrimSpace(got) != "job.batch/pi" {
		t.Errorf("jobs by status.successful: %q", got)
	}
	mustKubectl(t, "-n", ns, "create", "cronjob", "tick", "--image=busybox:1.36", "--schedule=*/5 * * * *", "--", "date")
	mustContain(t, mustKubectl(t, "-n", ns, "get", "cronjob", "tick", "-o", `jsonpath={.spec.concurrencyPolicy} {.spec.suspend} {.spec.successfulJobsHistoryLimit} {.spec.failedJobsHistoryLimit}`),
		"Allow false 3 1")
	cj := mustKubectl(t, "-n", ns, "get", "cj")
	mustContain(t, cj, "SCHEDULE", "TIMEZONE", "LAST SCHEDULE")
	if f := fields(strings.Split(strings.TrimSpace(cj), "\n")[1]); len(f) < 7 || f[0] != "tick" || f[1] != "*/5" || f[6] != "<none>" || f[7] != "False" {
		t.Errorf("kubectl get cj row: %q", f)
	}
	mustKubectl(t, "-n", ns, "create", "pdb", "web", "--selector=app=web", "--min-available=1")
	pdb := mustKubectl(t, "-n", ns, "get", "pdb", "web")
	if f := fields(strings.Split(strings.TrimSpace(pdb), "\n")[1]); f[0] != "web" || f[1] != "1" || f[2] != "N/A" || f[3] != "0" {
		t.Errorf("kubectl get pdb: %s", pdb)
	}
	mustKubectl(t, "-n", ns, "create", "quota", "q", "--hard=pods=10,cpu=2")
	if h := mustKubectl(t, "-n", ns, "get", "quota", "q", "-o", "jsonpath={.spec.hard.pods} {.spec.hard.cpu}"); h != "10 2" {
		t.Errorf("quota hard: %q", h)
	}
	mustContain(t, mustKubectl(t, "-n", ns, "get", "quota"), "NAME", "AGE", "REQUEST", "LIMIT")

	mustKubectlIn(t, `
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: c, image: nginx:1.27}]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: legacy}
spec:
  scaleTargetRef: {apiVersion: v1, kind: ReplicationController, name: legacy}
  maxReplicas: 4
`, "-n", ns, "apply", "-f", "-")
	if rc := mustKubectl(t, "-n", ns, "get", "rc", "legacy", "-o", "jsonpath={.spec.replicas} {.spec.selector.app} {.metadata.labels.app} {.spec.template.spec.restartPolicy}"); rc != "1 legacy legacy Always" {
		t.Errorf("rc defaults: %q", rc)
	}
	mustKubectl(t, "-n", ns, "scale", "rc", "legacy", "--replicas=3")
	if n := mustKubectl(t, "-n", ns, "get", "rc", "legacy", "--subresource=scale", "-o", "jsonpath={.spec.replicas} {.status.selector}"); n != "3 app=legacy" {
		t.Errorf("rc scale after kubectl scale: %q", n)
	}
	if got := mustKubectl(t, "-n", ns, "get", "rc", "--field-selector=status.replicas=0", "-o", "name"); strings.TrimSpace(got) != "replicationcontroller/legacy" {
		t.Errorf("rcs by status.replicas: %q", got)
	}
	all := mustKubectl(t, "-n", ns, "get", "all")
	mustContain(t, all, "replicationcontroller/legacy", "job.batch/pi", "cronjob.batch/tick", "horizontalpodautoscaler.autoscaling/legacy")
	if strings.Contains(all, "poddisruptionbudget") || strings.Contains(all, "resourcequota") {
		t.Errorf("kubectl get all lists kinds outside the all category:\n%s", all)
	}
	mustContain(t, mustKubectl(t, "-n", ns, "get", "hpa", "legacy"), "ReplicationController/legacy", "cpu: <unknown>/80%")

	invalid := []struct {
		name, manifest string
		want           []string
	}{
		{"job restart policy", `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"bad"},"spec":{"template":{"spec":{"restartPolicy":"Always","containers":[{"name":"c","image":"busybox"}]}}}}`,
			[]string{`The Job "bad" is invalid`, `spec.template.spec.restartPolicy: Unsupported value: "Always"`}},
		{"cron schedule", `{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"bad"},"spec":{"schedule":"61 * * * *","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}}}}}`,
			[]string{`The CronJob "bad" is invalid`, `spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`}},
		{"pdb both bounds", `{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"bad"},"spec":{"minAvailable":1,"maxUnavailable":1}}`,
			[]string{`The PodDisruptionBudget "bad" is invalid`, "minAvailable and maxUnavailable cannot be both set"}},
		{"hpa v1 max below min", `{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"bad"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"x"},"minReplicas":3,"maxReplicas":2}}`,
			[]string{`The HorizontalPodAutoscaler "bad" is invalid`, "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"}},
		{"rc selector", `{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"bad"},"spec":{"selector":{"app":"a"},"template":{"metadata":{"labels":{"app":"b"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`,
			[]string{`The ReplicationController "bad" is invalid`, "spec.template.metadata.labels: Invalid value"}},
		{"pv without source", `{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"bad-` + ns + `"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"]}}`,
			[]string{`The PersistentVolume "bad-` + ns + `" is invalid`, "spec: Required value: must specify a volume type"}},
	}
	for _, tc := range invalid {
		r := kubectlIn(t, tc.manifest, "-n", ns, "create", "-f", "-")
		if r.code == 0 {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		mustContain(t, r.stderr, tc.want...)
	}
	// The status code itself: 422 Invalid with the field in the causes.
	cs := env.shared.clientset(t)
	_, err := cs.BatchV1().CronJobs(ns).Patch(context.Background(), "tick", "application/merge-patch+json", []byte(`{"spec":{"schedule":"every day"}}`), metav1.PatchOptions{})
	var se *apierrors.StatusError
	if !apierrors.IsInvalid(err) || !asStatus(err, &se) || se.ErrStatus.Code != 422 || len(se.ErrStatus.Details.Causes) == 0 || se.ErrStatus.Details.Causes[0].Field != "spec.schedule" {
		t.Errorf("invalid schedule patch: %v", err)
	}
}

func asStatus(err error, se **apierrors.StatusError) bool {
	s, ok := err.(*apierrors.StatusError)
	*se = s
	return ok
}

// TestBuiltinsCoreAPIResources: `kubectl api-resources` lists every new
// resource with upstream's short names, scope, kind, verbs and categories.
func TestBuiltinsCoreAPIResources(t *testing.T) {
	t.Parallel()
	out := mustKubectl(t, "api-resources", "-o", "wide")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	header := lines[0]
	cols := []string{"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS", "CATEGORIES"}
	starts := make([]int, len(cols))
	for i, c := range cols {
		starts[i] = strings.Index(header, c)
		if starts[i] < 0 {
			t.Fatalf("header %q lacks %s", header, c)
		}
	}
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		cells := make([]string, len(cols))
		for i := range cols {
			end := len(l)
			if i+1 < len(cols) && starts[i+1] < end {
				end = starts[i+1]
			}
			if starts[i] < len(l) {
				cells[i] = strings.TrimSpace(l[starts[i]:end])
			}
		}
		rows[cells[0]+" "+cells[2]] = cells
	}
	crud := "create,delete,deletecollection,get,list,patch,update,watch"
	want := [][]string{
		{"limitranges", "limits", "v1", "true", "LimitRange", crud, ""},
		{"persistentvolumes", "pv", "v1", "false", "PersistentVolume", crud, ""},
		{"podtemplates", "", "v1", "true", "PodTemplate", crud, ""},
		{"replicationcontrollers", "rc", "v1", "true", "ReplicationController", crud, "all"},
		{"resourcequotas", "quota", "v1", "true", "ResourceQuota", crud, ""},
		{"componentstatuses", "cs", "v1", "false", "ComponentStatus", "get,list", ""},
		{"bindings", "", "v1", "true", "Binding", "create", ""},
		{"controllerrevisions", "", "apps/v1", "true", "ControllerRevision", crud, ""},
		{"horizontalpodautoscalers", "hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler", crud, "all"},
		{"jobs", "", "batch/v1", "true", "Job", crud, "all"},
		{"cronjobs", "cj", "batch/v1", "true", "CronJob", crud, "all"},
		{"poddisruptionbudgets", "pdb", "policy/v1", "true", "PodDisruptionBudget", crud, ""},
	}
	for _, w := range want {
		got, ok := rows[w[0]+" "+w[2]]
		if !ok {
			t.Errorf("api-resources lacks %s %s", w[0], w[2])
			continue
		}
		if strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("api-resources row\n got %q\nwant %q", got, w)
		}
	}
	// autoscaling serves v1 too (v2 preferred); pods have the new
	// subresources in discovery.
	mustContain(t, mustKubectl(t, "api-versions"), "autoscaling/v1", "autoscaling/v2", "batch/v1", "policy/v1")
	var list metav1.APIResourceList
	if err := json.Unmarshal([]byte(mustKubectl(t, "get", "--raw", "/api/v1")), &list); err != nil {
		t.Fatal(err)
	}
	subs := map[string]string{}
	for _, r := range list.APIResources {
		subs[r.Name] = fmt.Sprintf("%s/%s/%s %s", r.Group, r.Version, r.Kind, strings.Join(r.Verbs, ","))
	}
	for name, w := range map[string]string{
		"pods/binding": "//Binding create", "pods/eviction": "policy/v1/Eviction create", "pods/ephemeralcontainers": "//Pod get,patch,update",
		"replicationcontrollers/scale": "autoscaling/v1/Scale get,patch,update", "persistentvolumes/status": "//PersistentVolume get,patch,update",
	} {
		if subs[name] != w {
			t.Errorf("discovery %s = %q, want %q", name, subs[name], w)
		}
	}
}

// TestBuiltinsCoreHPAVersions: an HPA written at one version reads back
// at the other, v2-only fields surviving a v1 update through the
// round-trip annotations, and a v1 watch sees v2 writes converted.
func TestBuiltinsCoreHPAVersions(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	ctx := context.Background()
	cs := env.shared.clientset(t)
	mustKubectlIn(t, `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageValue: 100Mi}}
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 60}
---
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: old}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: old}
  maxReplicas: 3
  targetCPUUtilizationPercentage: 50
`, "-n", ns, "apply", "-f", "-")

	// v2 → v1: the CPU target in its field, the rest in annotations.
	v1, err := cs.AutoscalingV1().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v1.APIVersion != "" && v1.APIVersion != "autoscaling/v1" || v1.Spec.TargetCPUUtilizationPercentage == nil || *v1.Spec.TargetCPUUtilizationPercentage != 60 ||
		!strings.Contains(v1.Annotations["autoscaling.alpha.kubernetes.io/metrics"], `"targetAverageValue":"100Mi"`) ||
		!strings.Contains(v1.Annotations["autoscaling.alpha.kubernetes.io/behavior"], `"stabilizationWindowSeconds":60`) {
		t.Fatalf("v2 object read at v1: %+v", v1)
	}
	raw := mustKubectl(t, "get", "--raw", "/apis/autoscaling/v1/namespaces/"+ns+"/horizontalpodautoscalers/web")
	mustContain(t, raw, `"apiVersion":"autoscaling/v1"`, `"targetCPUUtilizationPercentage":60`)

	// An update at v1 keeps what only v2 can say.
	v1.Spec.MaxReplicas = 7
	if _, err := cs.AutoscalingV1().HorizontalPodAutoscalers(ns).Update(ctx, v1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	v2, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Spec.MaxReplicas != 7 || len(v2.Spec.Metrics) != 2 || v2.Spec.Metrics[0].Resource.Name != corev1.ResourceMemory ||
		v2.Spec.Behavior == nil || *v2.Spec.Behavior.ScaleDown.StabilizationWindowSeconds != 60 {
		t.Errorf("v2 after a v1 update: %+v", v2.Spec)
	}
	for k := range v2.Annotations {
		if strings.HasPrefix(k, "autoscaling.alpha.kubernetes.io/") {
			t.Errorf("v2 object carries round-trip annotation %s", k)
		}
	}

	// v1 → v2: the target becomes a CPU utilization metric.
	old, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "old", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(old.Spec.Metrics) != 1 || old.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU || *old.Spec.Metrics[0].Resource.Target.AverageUtilization != 50 || *old.Spec.MinReplicas != 1 {
		t.Errorf("v1 object read at v2: %+v", old.Spec)
	}
	mustContain(t, mustKubectl(t, "-n", ns, "get", "hpa"), "cpu: <unknown>/50%", "memory: <unknown>/100Mi, cpu: <unknown>/60%")

	// A v1 watch sees a v2 write as v1.
	w, err := cs.AutoscalingV1().HorizontalPodAutoscalers(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=old", ResourceVersion: old.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	old.Spec.Metrics[0].Resource.Target.AverageUtilization = ptrTo(int32(65))
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(ctx, old, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		h, ok := ev.Object.(*autoscalingv1.HorizontalPodAutoscaler)
		if ev.Type != watch.Modified || !ok || h.Spec.TargetCPUUtilizationPercentage == nil || *h.Spec.TargetCPUUtilizationPercentage != 65 {
			t.Errorf("v1 watch event %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(readyTimeout):
		t.Fatal("no watch event at v1")
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestBuiltinsCorePodSubresources: bindings set a pod's node once,
// evictions honour PodDisruptionBudgets (429 when the budget forbids,
// deletion when it allows), ephemeral containers can only be added, and
// componentstatuses report etcd.
func TestBuiltinsCorePodSubresources(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	ctx := context.Background()
	cs := env.shared.clientset(t)
	pods := cs.CoreV1().Pods(ns)
	newPod := func(name string, labels map[string]string) *corev1.Pod {
		t.Helper()
		p, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Bindings: the namespaced bindings resource (kubectl), then pods/binding.
	newPod("a", nil)
	mustKubectlIn(t, `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"a"},"target":{"kind":"Node","name":"node-1"}}`, "-n", ns, "create", "-f", "-")
	if n := mustKubectl(t, "-n", ns, "get", "pod", "a", "-o", "jsonpath={.spec.nodeName} {.status.conditions[0].type}={.status.conditions[0].status}"); n != "node-1 PodScheduled=True" {
		t.Errorf("bound pod: %q", n)
	}
	if got := mustKubectl(t, "-n", ns, "get", "pods", "--field-selector=spec.nodeName=node-1", "-o", "name"); strings.TrimSpace(got) != "pod/a" {
		t.Errorf("field selector on the bound node: %q", got)
	}
	err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-2"}}, metav1.CreateOptions{})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `pod a is already assigned to node "node-1"`) {
		t.Errorf("second binding: %v", err)
	}
	newPod("b", nil)
	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-2"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("pods/binding: %v", err)
	}
	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "b"}}, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("binding without a target: %v", err)
	}

	// Evictions against a budget whose status is set as the disruption
	// controller would.
	guarded := map[string]string{"app": "guarded"}
	pdb, err := cs.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "guard"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptrTo(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: guarded}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setBudget := func(allowed int32) {
		t.Helper()
		cur, err := cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, pdb.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: cur.Generation, DisruptionsAllowed: allowed, CurrentHealthy: 1 + allowed, DesiredHealthy: 1, ExpectedPods: 1 + allowed}
		if _, err := cs.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	running := func(name string) {
		t.Helper()
		p := newPod(name, guarded)
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	evict := func(name string) error {
		return pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
	}
	running("r1")
	// Status not yet observed by the (absent) disruption controller.
	if err := evict("r1"); !apierrors.IsTooManyRequests(err) || !strings.Contains(err.Error(), "Cannot evict pod as it would violate the pod's disruption budget.") {
		t.Errorf("eviction before the budget was processed: %v", err)
	}
	setBudget(0)
	err = evict("r1")
	var se *apierrors.StatusError
	if !apierrors.IsTooManyRequests(err) || !asStatus(err, &se) || se.ErrStatus.Code != 429 || len(se.ErrStatus.Details.Causes) == 0 ||
		se.ErrStatus.Details.Causes[0].Type != policyv1.DisruptionBudgetCause || !strings.Contains(se.ErrStatus.Details.Causes[0].Message, "The disruption budget guard needs 1 healthy pods and has 1 currently") {
		t.Errorf("eviction refused by the budget: %v", err)
	}
	if _, err := pods.Get(ctx, "r1", metav1.GetOptions{}); err != nil {
		t.Errorf("refused eviction deleted the pod: %v", err)
	}
	setBudget(1)
	if err := evict("r1"); err != nil {
		t.Fatalf("eviction allowed by the budget: %v", err)
	}
	if _, err := pods.Get(ctx, "r1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("evicted pod still there: %v", err)
	}
	after, err := cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, pdb.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := after.Status.DisruptedPods["r1"]; after.Status.DisruptionsAllowed != 0 || !ok {
		t.Errorf("budget after the eviction: %+v", after.Status)
	}
	// A pending pod disrupts nothing: evicted whatever the budget says.
	newPod("pending", guarded)
	if err := evict("pending"); err != nil {
		t.Errorf("evicting a pending pod: %v", err)
	}

	// Ephemeral containers: added through the subresource only, never removed.
	p, err := pods.Get(ctx, "b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox:1.36"}}}
	p, err = pods.UpdateEphemeralContainers(ctx, "b", p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("adding an ephemeral container: %v", err)
	}
	if len(p.Spec.EphemeralContainers) != 1 || p.Spec.EphemeralContainers[0].TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("ephemeral containers: %+v", p.Spec.EphemeralContainers)
	}
	p.Spec.EphemeralContainers = nil
	if _, err := pods.UpdateEphemeralContainers(ctx, "b", p, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `existing ephemeral containers "debug" may not be removed`) {
		t.Errorf("removing an ephemeral container: %v", err)
	}

	// componentstatuses: read-only, etcd healthy.
	r := kubectl(t, "get", "componentstatuses")
	out := r.stdout
	mustContain(t, out, "NAME", "STATUS", "MESSAGE", "ERROR", "controller-manager", "scheduler")
	mustContain(t, r.stderr, "Warning: v1 ComponentStatus is deprecated in v1.19+")
	for _, l := range strings.Split(out, "\n") {
		if f := fields(l); len(f) >= 2 && f[0] == "etcd-0" && f[1] != "Healthy" {
			t.Errorf("etcd-0: %s", l)
		}
	}
	if r := kubectl(t, "delete", "cs", "etcd-0"); r.code == 0 || !strings.Contains(r.stderr, "MethodNotAllowed") && !strings.Contains(r.stderr, "not supported") {
		t.Errorf("deleting a componentstatus: %s", r)
	}
}

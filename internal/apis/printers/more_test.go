package printers

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestMorePrinters: the columns and cells kubectl 1.32 shows for the
// kinds added with issue 8.
func TestMorePrinters(t *testing.T) {
	containers := []corev1.Container{{Name: "a", Image: "nginx"}, {Name: "b", Image: "busybox:1"}}
	cpu80, cpu45 := int32(80), int32(45)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: om("web"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MinReplicas: ptr(int32(2)), MaxReplicas: 10,
		Metrics: []autoscalingv2.MetricSpec{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &cpu80}}},
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr(resource.MustParse("100Mi"))}}},
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr(resource.MustParse("10"))}}},
		}},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentMetrics: []autoscalingv2.MetricStatus{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: &cpu45}}}}}}
	started := metav1.NewTime(now.Add(-3 * time.Minute))
	finished := metav1.NewTime(now.Add(-time.Minute))
	tests := []struct {
		name, group, kind string
		obj               runtime.Object
		headers           string
		cells             []interface{}
	}{
		{"limitrange", "", "LimitRange", &corev1.LimitRange{ObjectMeta: om("l")}, "NAME|CREATED AT", []interface{}{"l", created.UTC().Format(time.RFC3339)}},
		{"pv", "", "PersistentVolume", &corev1.PersistentVolume{ObjectMeta: om("pv1"), Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain, StorageClassName: "fast",
			ClaimRef: &corev1.ObjectReference{Namespace: "ns", Name: "data"}, VolumeMode: ptr(corev1.PersistentVolumeFilesystem)},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}},
			"NAME|CAPACITY|ACCESS MODES|RECLAIM POLICY|STATUS|CLAIM|STORAGECLASS|VOLUMEATTRIBUTESCLASS|REASON|AGE|+VOLUMEMODE",
			[]interface{}{"pv1", "5Gi", "RWO,RWX", "Retain", "Bound", "ns/data", "fast", "<unset>", "", "5m", "Filesystem"}},
		{"podtemplate", "", "PodTemplate", &corev1.PodTemplate{ObjectMeta: om("t"), Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}, Spec: corev1.PodSpec{Containers: containers}}},
			"NAME|CONTAINERS|IMAGES|POD LABELS", []interface{}{"t", "a,b", "nginx,busybox:1", "app=x"}},
		{"rc", "", "ReplicationController", &corev1.ReplicationController{ObjectMeta: om("rc"), Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr(int32(3)), Selector: map[string]string{"app": "x"}, Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}}},
			Status: corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1}},
			"NAME|DESIRED|CURRENT|READY|AGE|+CONTAINERS|+IMAGES|+SELECTOR", []interface{}{"rc", int64(3), int64(2), int64(1), "5m", "a,b", "nginx,busybox:1", "app=x"}},
		{"quota", "", "ResourceQuota", &corev1.ResourceQuota{ObjectMeta: om("q"), Status: corev1.ResourceQuotaStatus{
			Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10"), corev1.ResourceLimitsCPU: resource.MustParse("2"), corev1.ResourceRequestsMemory: resource.MustParse("1Gi")},
			Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}}},
			"NAME|AGE|REQUEST|LIMIT", []interface{}{"q", "5m", "pods: 1/10, requests.memory: 0/1Gi", "limits.cpu: 0/2"}},
		{"componentstatus", "", "ComponentStatus", &corev1.ComponentStatus{ObjectMeta: metav1.ObjectMeta{Name: "scheduler"}, Conditions: []corev1.ComponentCondition{
			{Type: corev1.ComponentHealthy, Status: corev1.ConditionFalse, Error: "connection refused"}}},
			"NAME|STATUS|MESSAGE|ERROR", []interface{}{"scheduler", "Unhealthy", "", "connection refused"}},
		{"controllerrevision", "apps", "ControllerRevision", &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "ds-1", CreationTimestamp: created,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "ds", Controller: ptr(true)}}}, Revision: 2},
			"NAME|CONTROLLER|REVISION|AGE", []interface{}{"ds-1", "daemonset.apps/ds", int64(2), "5m"}},
		{"controllerrevision without controller", "apps", "ControllerRevision", &appsv1.ControllerRevision{ObjectMeta: om("x"), Revision: 1},
			"", []interface{}{"x", "<none>", int64(1), "5m"}},
		{"hpa v2", "autoscaling", "HorizontalPodAutoscaler", hpa,
			"NAME|REFERENCE|TARGETS|MINPODS|MAXPODS|REPLICAS|AGE",
			[]interface{}{"web", "Deployment/web", "cpu: 45%/80%, memory: <unknown>/100Mi + 1 more...", "2", int64(10), int64(3), "5m"}},
		{"hpa v1", "autoscaling", "HorizontalPodAutoscaler", &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: om("old"), Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "ReplicaSet", Name: "rs"}, MaxReplicas: 4, TargetCPUUtilizationPercentage: ptr(int32(50))}},
			"", []interface{}{"old", "ReplicaSet/rs", "cpu: <unknown>/50%", "<unset>", int64(4), int64(0), "5m"}},
		{"job running", "batch", "Job", &batchv1.Job{ObjectMeta: om("j"), Spec: batchv1.JobSpec{Completions: ptr(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "u"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}}},
			Status: batchv1.JobStatus{Succeeded: 1, StartTime: &started}},
			"NAME|STATUS|COMPLETIONS|DURATION|AGE|+CONTAINERS|+IMAGES|+SELECTOR",
			[]interface{}{"j", "Running", "1/3", "3m", "5m", "a,b", "nginx,busybox:1", "batch.kubernetes.io/controller-uid=u"}},
		{"job complete", "batch", "Job", &batchv1.Job{ObjectMeta: om("done"), Spec: batchv1.JobSpec{Parallelism: ptr(int32(2))},
			Status: batchv1.JobStatus{Succeeded: 1, StartTime: &started, CompletionTime: &finished,
				Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}},
			"", []interface{}{"done", "Complete", "1/1 of 2", "2m", "5m", "", "", "<none>"}},
		{"job suspended", "batch", "Job", &batchv1.Job{ObjectMeta: om("s"), Status: batchv1.JobStatus{
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionTrue}}}},
			"", []interface{}{"s", "Suspended", "0/1", "", "5m", "", "", "<none>"}},
		{"cronjob", "batch", "CronJob", &batchv1.CronJob{ObjectMeta: om("cj"), Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *", Suspend: ptr(false),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}}}}},
			Status: batchv1.CronJobStatus{Active: []corev1.ObjectReference{{Name: "cj-1"}}, LastScheduleTime: &finished}},
			"NAME|SCHEDULE|TIMEZONE|SUSPEND|ACTIVE|LAST SCHEDULE|AGE|+CONTAINERS|+IMAGES|+SELECTOR",
			[]interface{}{"cj", "*/5 * * * *", "<none>", "False", int64(1), "60s", "5m", "a,b", "nginx,busybox:1", "<none>"}},
		{"cronjob with time zone", "batch", "CronJob", &batchv1.CronJob{ObjectMeta: om("tz"), Spec: batchv1.CronJobSpec{Schedule: "@daily", TimeZone: ptr("Etc/UTC")}},
			"", []interface{}{"tz", "@daily", "Etc/UTC", "<unset>", int64(0), "<none>", "5m", "", "", "<none>"}},
		{"pdb", "policy", "PodDisruptionBudget", &policyv1.PodDisruptionBudget{ObjectMeta: om("p"), Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromString("50%"))},
			Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}},
			"NAME|MIN AVAILABLE|MAX UNAVAILABLE|ALLOWED DISRUPTIONS|AGE", []interface{}{"p", "50%", "N/A", int64(1), "5m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkPrinted(t, tt.group, tt.kind, tt.obj, tt.headers, tt.cells)
		})
	}
}

func TestHPAPrinterRejectsOtherKinds(t *testing.T) {
	p, _ := For(schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"})
	for _, obj := range []runtime.Object{nil, &corev1.Pod{}, (*autoscalingv2.HorizontalPodAutoscaler)(nil), (*autoscalingv1.HorizontalPodAutoscaler)(nil)} {
		if _, err := p.Row(obj, now); err == nil {
			t.Errorf("Row(%T) succeeded", obj)
		}
	}
}

package defaults

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func p[T any](v T) *T { return &v }

// TestDefaultMore: each kind added with issue 8 gets upstream's defaults,
// and pod templates inside them get the pod spec defaults.
func TestDefaultMore(t *testing.T) {
	tmpl := func() corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}, Spec: podSpec()}
	}
	cases := []struct {
		name  string
		obj   runtime.Object
		check func(t *testing.T, obj runtime.Object)
	}{
		{"rc: replicas, selector and labels from the template", &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Template: p(tmpl())}},
			func(t *testing.T, obj runtime.Object) {
				rc := obj.(*corev1.ReplicationController)
				if rc.Spec.Replicas == nil || *rc.Spec.Replicas != 1 || rc.Spec.Selector["app"] != "x" || rc.Labels["app"] != "x" {
					t.Errorf("rc defaults: %+v", rc)
				}
				checkPodSpec(t, &rc.Spec.Template.Spec)
			}},
		{"rc: an explicit selector and labels stay", &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"own": "1"}},
			Spec: corev1.ReplicationControllerSpec{Replicas: p(int32(0)), Selector: map[string]string{"app": "x"}, Template: p(tmpl())}},
			func(t *testing.T, obj runtime.Object) {
				rc := obj.(*corev1.ReplicationController)
				if *rc.Spec.Replicas != 0 || len(rc.Labels) != 1 || rc.Labels["own"] != "1" {
					t.Errorf("rc overwrote given values: %+v", rc)
				}
			}},
		{"podtemplate", &corev1.PodTemplate{Template: tmpl()}, func(t *testing.T, obj runtime.Object) {
			checkPodSpec(t, &obj.(*corev1.PodTemplate).Template.Spec)
		}},
		{"pv", &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}}},
			func(t *testing.T, obj runtime.Object) {
				pv := obj.(*corev1.PersistentVolume)
				if pv.Status.Phase != corev1.VolumePending || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain ||
					*pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || *pv.Spec.HostPath.Type != corev1.HostPathUnset {
					t.Errorf("pv defaults: %+v", pv)
				}
			}},
		{"limitrange: default limit from max, default request from default then min", &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer,
			Max:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
			Min:  corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		}, {Type: corev1.LimitTypePod, Max: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}}}}},
			func(t *testing.T, obj runtime.Object) {
				c, pod := obj.(*corev1.LimitRange).Spec.Limits[0], obj.(*corev1.LimitRange).Spec.Limits[1]
				if q := c.Default[corev1.ResourceCPU]; q.String() != "2" {
					t.Errorf("default cpu = %v", c.Default)
				}
				if q := c.DefaultRequest[corev1.ResourceCPU]; q.String() != "2" {
					t.Errorf("defaultRequest cpu = %v", c.DefaultRequest)
				}
				if q := c.DefaultRequest[corev1.ResourceMemory]; q.String() != "64Mi" {
					t.Errorf("defaultRequest memory = %v", c.DefaultRequest)
				}
				if pod.Default != nil || pod.DefaultRequest != nil {
					t.Errorf("pod limits got container defaults: %+v", pod)
				}
			}},
		{"job: neither completions nor parallelism", &batchv1.Job{Spec: batchv1.JobSpec{Template: tmpl()}}, func(t *testing.T, obj runtime.Object) {
			j := obj.(*batchv1.Job)
			s := j.Spec
			if *s.Completions != 1 || *s.Parallelism != 1 || *s.BackoffLimit != 6 || *s.CompletionMode != batchv1.NonIndexedCompletion ||
				*s.Suspend || *s.PodReplacementPolicy != batchv1.TerminatingOrFailed || s.ManualSelector != nil {
				t.Errorf("job defaults: %+v", s)
			}
			if j.Labels["app"] != "x" {
				t.Errorf("job labels not taken from its template: %v", j.Labels)
			}
		}},
		{"job: parallelism alone leaves completions unset (work queue)", &batchv1.Job{Spec: batchv1.JobSpec{Parallelism: p(int32(3)), Template: tmpl()}},
			func(t *testing.T, obj runtime.Object) {
				if s := obj.(*batchv1.Job).Spec; s.Completions != nil || *s.Parallelism != 3 {
					t.Errorf("job: %+v", s)
				}
			}},
		{"job: a pod failure policy makes replacement wait for Failed", &batchv1.Job{Spec: batchv1.JobSpec{Template: tmpl(),
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}}}}}}},
			func(t *testing.T, obj runtime.Object) {
				s := obj.(*batchv1.Job).Spec
				if *s.PodReplacementPolicy != batchv1.Failed || s.PodFailurePolicy.Rules[0].OnPodConditions[0].Status != corev1.ConditionTrue {
					t.Errorf("job: %+v", s)
				}
			}},
		{"job: backoffLimitPerIndex lifts the backoff limit", &batchv1.Job{Spec: batchv1.JobSpec{BackoffLimitPerIndex: p(int32(1)), Template: tmpl()}},
			func(t *testing.T, obj runtime.Object) {
				if s := obj.(*batchv1.Job).Spec; *s.BackoffLimit != 2147483647 {
					t.Errorf("backoffLimit = %d", *s.BackoffLimit)
				}
			}},
		{"cronjob", &batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: "* * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl()}}}},
			func(t *testing.T, obj runtime.Object) {
				s := obj.(*batchv1.CronJob).Spec
				if s.ConcurrencyPolicy != batchv1.AllowConcurrent || *s.Suspend || *s.SuccessfulJobsHistoryLimit != 3 || *s.FailedJobsHistoryLimit != 1 {
					t.Errorf("cronjob defaults: %+v", s)
				}
				// The job template is not a Job: its spec keeps no job defaults.
				if s.JobTemplate.Spec.Completions != nil || s.JobTemplate.Spec.BackoffLimit != nil {
					t.Errorf("job template got job defaults: %+v", s.JobTemplate.Spec)
				}
				checkPodSpec(t, &s.JobTemplate.Spec.Template.Spec)
			}},
		{"hpa v2: min replicas, cpu 80%, partial behavior completed", &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			MaxReplicas: 3, Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: p(int32(60))}}}},
			func(t *testing.T, obj runtime.Object) {
				s := obj.(*autoscalingv2.HorizontalPodAutoscaler).Spec
				if *s.MinReplicas != 1 || len(s.Metrics) != 1 || s.Metrics[0].Resource.Name != corev1.ResourceCPU || *s.Metrics[0].Resource.Target.AverageUtilization != 80 {
					t.Errorf("hpa defaults: %+v", s)
				}
				up, down := s.Behavior.ScaleUp, s.Behavior.ScaleDown
				if *up.StabilizationWindowSeconds != 0 || *up.SelectPolicy != autoscalingv2.MaxChangePolicySelect || len(up.Policies) != 2 {
					t.Errorf("scaleUp = %+v", up)
				}
				if *down.StabilizationWindowSeconds != 60 || len(down.Policies) != 1 || down.Policies[0].Type != autoscalingv2.PercentScalingPolicy || down.Policies[0].Value != 100 {
					t.Errorf("scaleDown = %+v", down)
				}
			}},
		{"hpa v2: no behavior stays without one", &autoscalingv2.HorizontalPodAutoscaler{}, func(t *testing.T, obj runtime.Object) {
			if b := obj.(*autoscalingv2.HorizontalPodAutoscaler).Spec.Behavior; b != nil {
				t.Errorf("behavior = %+v", b)
			}
		}},
		{"hpa v1: min replicas only", &autoscalingv1.HorizontalPodAutoscaler{}, func(t *testing.T, obj runtime.Object) {
			s := obj.(*autoscalingv1.HorizontalPodAutoscaler).Spec
			if *s.MinReplicas != 1 || s.TargetCPUUtilizationPercentage != nil {
				t.Errorf("hpa v1 defaults: %+v", s)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			Default(tc.obj)
			tc.check(t, tc.obj)
			// Defaulting twice changes nothing (stored objects are
			// defaulted again on every read).
			again := tc.obj.DeepCopyObject()
			Default(again)
			if !apiequality.Semantic.DeepEqual(again, tc.obj) {
				t.Errorf("defaulting is not idempotent")
			}
		})
	}
}

// TestGenerateJobSelector: the uid-based selector and the four pod
// labels, unless the selector is manual.
func TestGenerateJobSelector(t *testing.T) {
	cases := []struct {
		name   string
		manual *bool
		want   bool
	}{
		{"generated", nil, true},
		{"manualSelector false", p(false), true},
		{"manualSelector true", p(true), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: "u-1"}, Spec: batchv1.JobSpec{ManualSelector: tc.manual}}
			GenerateJobSelector(j)
			l := j.Spec.Template.Labels
			got := j.Spec.Selector != nil && j.Spec.Selector.MatchLabels[JobControllerUIDLabel] == "u-1" &&
				l[JobControllerUIDLabel] == "u-1" && l[JobNameLabel] == "pi" && l[LegacyJobControllerUIDLabel] == "u-1" && l[LegacyJobNameLabel] == "pi"
			if got != tc.want {
				t.Errorf("generated = %v, want %v: selector %v labels %v", got, tc.want, j.Spec.Selector, l)
			}
		})
	}
}

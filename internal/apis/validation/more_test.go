package validation

import (
	"strings"
	"testing"

	"github.com/kastle-dev/kastle/internal/apis/defaults"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validMore returns one valid, defaulted object per kind added with
// issue 8; each call returns fresh objects.
func validMore() map[string]runtime.Object {
	tmpl := podTemplate(map[string]string{"app": "web"})
	jobTmpl := *tmpl.DeepCopy()
	jobTmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	job := &batchv1.Job{ObjectMeta: om("pi"), Spec: batchv1.JobSpec{Template: *jobTmpl.DeepCopy()}}
	job.UID = "uid-1"
	defaults.GenerateJobSelector(job)
	objs := map[string]runtime.Object{
		"LimitRange": &corev1.LimitRange{ObjectMeta: om("limits"), Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}, Min: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
		"PersistentVolume": &corev1.PersistentVolume{ObjectMeta: clusterMeta("pv-1"), Spec: corev1.PersistentVolumeSpec{
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}}}},
		"PodTemplate": &corev1.PodTemplate{ObjectMeta: om("tmpl"), Template: *tmpl.DeepCopy()},
		"ReplicationController": &corev1.ReplicationController{ObjectMeta: om("rc"), Spec: corev1.ReplicationControllerSpec{
			Selector: map[string]string{"app": "web"}, Template: tmpl.DeepCopy()}},
		"ResourceQuota": &corev1.ResourceQuota{ObjectMeta: om("quota"), Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			corev1.ResourcePods: resource.MustParse("10"), corev1.ResourceLimitsCPU: resource.MustParse("2")}}},
		"ControllerRevision": &appsv1.ControllerRevision{ObjectMeta: om("ds-1"), Revision: 1, Data: runtime.RawExtension{Raw: []byte(`{"spec":{}}`)}},
		"HorizontalPodAutoscaler.v2": &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: om("web"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}, MaxReplicas: 3,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{}}},
		"HorizontalPodAutoscaler.v1": &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: om("web"), Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 3, TargetCPUUtilizationPercentage: ptr(int32(50))}},
		"Job": job,
		"CronJob": &batchv1.CronJob{ObjectMeta: om("nightly"), Spec: batchv1.CronJobSpec{Schedule: "0 3 * * mon-fri", TimeZone: ptr("Europe/Paris"),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: *jobTmpl.DeepCopy()}}}},
		"PodDisruptionBudget": &policyv1.PodDisruptionBudget{ObjectMeta: om("web"), Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr(intstr.FromString("50%")), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}},
	}
	for _, o := range objs {
		defaults.Default(o)
	}
	return objs
}

func TestValidMoreObjectsPass(t *testing.T) {
	for kind, obj := range validMore() {
		if errs := Validate(obj); len(errs) != 0 {
			t.Errorf("%s: unexpected errors: %v", kind, errs)
		}
		old := obj.DeepCopyObject()
		old.(metav1.Object).SetResourceVersion("1")
		upd := old.DeepCopyObject()
		if errs := ValidateUpdate(upd, old); len(errs) != 0 {
			t.Errorf("%s: unchanged update rejected: %v", kind, errs)
		}
		if errs := ValidateStatusUpdate(upd, old); len(errs) != 0 {
			t.Errorf("%s: unchanged status update rejected: %v", kind, errs)
		}
	}
}

func TestValidateMoreRejects(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		mutate func(runtime.Object)
		path   string
		typ    field.ErrorType
	}{
		{"limitrange type", "LimitRange", func(o runtime.Object) { o.(*corev1.LimitRange).Spec.Limits[0].Type = "Node" }, "spec.limits[0].type", field.ErrorTypeNotSupported},
		{"limitrange min over max", "LimitRange", func(o runtime.Object) {
			o.(*corev1.LimitRange).Spec.Limits[0].Min[corev1.ResourceCPU] = resource.MustParse("3")
		}, "spec.limits[0].min[cpu]", field.ErrorTypeInvalid},
		{"limitrange pod default", "LimitRange", func(o runtime.Object) {
			it := &o.(*corev1.LimitRange).Spec.Limits[0]
			it.Type = corev1.LimitTypePod
		}, "spec.limits[0].default", field.ErrorTypeForbidden},
		{"pv without capacity", "PersistentVolume", func(o runtime.Object) { o.(*corev1.PersistentVolume).Spec.Capacity = nil }, "spec.capacity", field.ErrorTypeRequired},
		{"pv without access modes", "PersistentVolume", func(o runtime.Object) { o.(*corev1.PersistentVolume).Spec.AccessModes = nil }, "spec.accessModes", field.ErrorTypeRequired},
		{"pv without a source", "PersistentVolume", func(o runtime.Object) { o.(*corev1.PersistentVolume).Spec.HostPath = nil }, "spec", field.ErrorTypeRequired},
		{"pv with two sources", "PersistentVolume", func(o runtime.Object) {
			o.(*corev1.PersistentVolume).Spec.NFS = &corev1.NFSVolumeSource{Server: "s", Path: "/"}
		}, "spec.nfs", field.ErrorTypeForbidden},
		{"pv reclaim policy", "PersistentVolume", func(o runtime.Object) { o.(*corev1.PersistentVolume).Spec.PersistentVolumeReclaimPolicy = "Keep" }, "spec.persistentVolumeReclaimPolicy", field.ErrorTypeNotSupported},
		{"pv namespaced name", "PersistentVolume", func(o runtime.Object) { o.(*corev1.PersistentVolume).Name = "Bad_Name" }, "metadata.name", field.ErrorTypeInvalid},
		{"podtemplate without containers", "PodTemplate", func(o runtime.Object) { o.(*corev1.PodTemplate).Template.Spec.Containers = nil }, "template.spec.containers", field.ErrorTypeRequired},
		{"rc without selector", "ReplicationController", func(o runtime.Object) { o.(*corev1.ReplicationController).Spec.Selector = nil }, "spec.selector", field.ErrorTypeRequired},
		{"rc selector mismatch", "ReplicationController", func(o runtime.Object) {
			o.(*corev1.ReplicationController).Spec.Selector = map[string]string{"app": "db"}
		}, "spec.template.metadata.labels", field.ErrorTypeInvalid},
		{"rc negative replicas", "ReplicationController", func(o runtime.Object) { o.(*corev1.ReplicationController).Spec.Replicas = ptr(int32(-1)) }, "spec.replicas", field.ErrorTypeInvalid},
		{"rc without template", "ReplicationController", func(o runtime.Object) { o.(*corev1.ReplicationController).Spec.Template = nil }, "spec.template", field.ErrorTypeRequired},
		{"rc restart policy", "ReplicationController", func(o runtime.Object) {
			o.(*corev1.ReplicationController).Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		}, "spec.template.spec.restartPolicy", field.ErrorTypeNotSupported},
		{"quota negative", "ResourceQuota", func(o runtime.Object) {
			o.(*corev1.ResourceQuota).Spec.Hard[corev1.ResourceCPU] = resource.MustParse("-1")
		}, "spec.hard[cpu]", field.ErrorTypeInvalid},
		{"quota fractional pods", "ResourceQuota", func(o runtime.Object) {
			o.(*corev1.ResourceQuota).Spec.Hard[corev1.ResourcePods] = resource.MustParse("1500m")
		}, "spec.hard[pods]", field.ErrorTypeInvalid},
		{"quota scope", "ResourceQuota", func(o runtime.Object) { o.(*corev1.ResourceQuota).Spec.Scopes = []corev1.ResourceQuotaScope{"Forever"} }, "spec.scopes[0]", field.ErrorTypeNotSupported},
		{"controllerrevision without data", "ControllerRevision", func(o runtime.Object) { o.(*appsv1.ControllerRevision).Data = runtime.RawExtension{} }, "data", field.ErrorTypeRequired},
		{"controllerrevision negative revision", "ControllerRevision", func(o runtime.Object) { o.(*appsv1.ControllerRevision).Revision = -1 }, "revision", field.ErrorTypeInvalid},
		{"hpa without target kind", "HorizontalPodAutoscaler.v2", func(o runtime.Object) {
			o.(*autoscalingv2.HorizontalPodAutoscaler).Spec.ScaleTargetRef.Kind = ""
		}, "spec.scaleTargetRef.kind", field.ErrorTypeRequired},
		{"hpa max below min", "HorizontalPodAutoscaler.v2", func(o runtime.Object) {
			o.(*autoscalingv2.HorizontalPodAutoscaler).Spec.MinReplicas = ptr(int32(5))
		}, "spec.maxReplicas", field.ErrorTypeInvalid},
		{"hpa zero min", "HorizontalPodAutoscaler.v2", func(o runtime.Object) {
			o.(*autoscalingv2.HorizontalPodAutoscaler).Spec.MinReplicas = ptr(int32(0))
		}, "spec.minReplicas", field.ErrorTypeInvalid},
		{"hpa metric without source", "HorizontalPodAutoscaler.v2", func(o runtime.Object) {
			o.(*autoscalingv2.HorizontalPodAutoscaler).Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType}}
		}, "spec.metrics[0].pods", field.ErrorTypeRequired},
		{"hpa scaling policy period", "HorizontalPodAutoscaler.v2", func(o runtime.Object) {
			o.(*autoscalingv2.HorizontalPodAutoscaler).Spec.Behavior.ScaleUp.Policies[0].PeriodSeconds = 3600
		}, "spec.behavior.scaleUp.policies[0].periodSeconds", field.ErrorTypeInvalid},
		{"hpa v1 zero cpu target, reported as upstream does on its v2 form", "HorizontalPodAutoscaler.v1", func(o runtime.Object) {
			o.(*autoscalingv1.HorizontalPodAutoscaler).Spec.TargetCPUUtilizationPercentage = ptr(int32(0))
		}, "spec.metrics[0].resource.target.averageUtilization", field.ErrorTypeInvalid},
		{"hpa v1 without name", "HorizontalPodAutoscaler.v1", func(o runtime.Object) {
			o.(*autoscalingv1.HorizontalPodAutoscaler).Spec.ScaleTargetRef.Name = ""
		}, "spec.scaleTargetRef.name", field.ErrorTypeRequired},
		{"job restart policy Always", "Job", func(o runtime.Object) {
			o.(*batchv1.Job).Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		}, "spec.template.spec.restartPolicy", field.ErrorTypeNotSupported},
		{"job selector not generated", "Job", func(o runtime.Object) {
			o.(*batchv1.Job).Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
		}, "spec.selector", field.ErrorTypeInvalid},
		{"job manual selector missing", "Job", func(o runtime.Object) {
			j := o.(*batchv1.Job)
			j.Spec.ManualSelector, j.Spec.Selector = ptr(true), nil
		}, "spec.selector", field.ErrorTypeRequired},
		{"job negative backoff", "Job", func(o runtime.Object) { o.(*batchv1.Job).Spec.BackoffLimit = ptr(int32(-1)) }, "spec.backoffLimit", field.ErrorTypeInvalid},
		{"job completion mode", "Job", func(o runtime.Object) {
			m := batchv1.CompletionMode("Sometimes")
			o.(*batchv1.Job).Spec.CompletionMode = &m
		}, "spec.completionMode", field.ErrorTypeNotSupported},
		{"job indexed without completions", "Job", func(o runtime.Object) {
			m := batchv1.IndexedCompletion
			o.(*batchv1.Job).Spec.CompletionMode, o.(*batchv1.Job).Spec.Completions = &m, nil
		}, "spec.completions", field.ErrorTypeRequired},
		{"cronjob bad schedule", "CronJob", func(o runtime.Object) { o.(*batchv1.CronJob).Spec.Schedule = "61 * * * *" }, "spec.schedule", field.ErrorTypeInvalid},
		{"cronjob empty schedule", "CronJob", func(o runtime.Object) { o.(*batchv1.CronJob).Spec.Schedule = "" }, "spec.schedule", field.ErrorTypeRequired},
		{"cronjob TZ in schedule", "CronJob", func(o runtime.Object) { o.(*batchv1.CronJob).Spec.Schedule = "TZ=UTC 0 * * * *" }, "spec.schedule", field.ErrorTypeInvalid},
		{"cronjob time zone", "CronJob", func(o runtime.Object) { o.(*batchv1.CronJob).Spec.TimeZone = ptr("Mars/Olympus") }, "spec.timeZone", field.ErrorTypeInvalid},
		{"cronjob concurrency", "CronJob", func(o runtime.Object) { o.(*batchv1.CronJob).Spec.ConcurrencyPolicy = "Sometimes" }, "spec.concurrencyPolicy", field.ErrorTypeNotSupported},
		{"cronjob long name", "CronJob", func(o runtime.Object) { o.(*batchv1.CronJob).Name = strings.Repeat("a", 53) }, "metadata.name", field.ErrorTypeInvalid},
		{"cronjob job restart policy", "CronJob", func(o runtime.Object) {
			o.(*batchv1.CronJob).Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		}, "spec.jobTemplate.spec.template.spec.restartPolicy", field.ErrorTypeNotSupported},
		{"pdb both set", "PodDisruptionBudget", func(o runtime.Object) {
			o.(*policyv1.PodDisruptionBudget).Spec.MaxUnavailable = ptr(intstr.FromInt32(1))
		}, "spec", field.ErrorTypeInvalid},
		{"pdb over 100%", "PodDisruptionBudget", func(o runtime.Object) {
			o.(*policyv1.PodDisruptionBudget).Spec.MinAvailable = ptr(intstr.FromString("150%"))
		}, "spec.minAvailable", field.ErrorTypeInvalid},
		{"pdb eviction policy", "PodDisruptionBudget", func(o runtime.Object) {
			p := policyv1.UnhealthyPodEvictionPolicyType("Never")
			o.(*policyv1.PodDisruptionBudget).Spec.UnhealthyPodEvictionPolicy = &p
		}, "spec.unhealthyPodEvictionPolicy", field.ErrorTypeNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := validMore()[tt.kind]
			tt.mutate(obj)
			if errs := Validate(obj); !hasError(errs, tt.path, tt.typ) {
				t.Errorf("want %s error on %q, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestValidateMoreUpdateRejects(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		mutate func(runtime.Object)
		path   string
		typ    field.ErrorType
	}{
		{"pv source", "PersistentVolume", func(o runtime.Object) { o.(*corev1.PersistentVolume).Spec.HostPath.Path = "/other" }, "spec.persistentvolumesource", field.ErrorTypeForbidden},
		{"quota scopes", "ResourceQuota", func(o runtime.Object) {
			o.(*corev1.ResourceQuota).Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}
		}, "spec.scopes", field.ErrorTypeInvalid},
		{"controllerrevision data", "ControllerRevision", func(o runtime.Object) {
			o.(*appsv1.ControllerRevision).Data = runtime.RawExtension{Raw: []byte(`{"spec":{"x":1}}`)}
		}, "data", field.ErrorTypeInvalid},
		{"job selector", "Job", func(o runtime.Object) {
			o.(*batchv1.Job).Spec.Selector.MatchLabels["extra"] = "x"
			o.(*batchv1.Job).Spec.Template.Labels["extra"] = "x"
		}, "spec.selector", field.ErrorTypeInvalid},
		{"job template", "Job", func(o runtime.Object) {
			o.(*batchv1.Job).Spec.Template.Spec.Containers[0].Image = "nginx:2"
		}, "spec.template", field.ErrorTypeInvalid},
		{"job completions", "Job", func(o runtime.Object) { o.(*batchv1.Job).Spec.Completions = ptr(int32(4)) }, "spec.completions", field.ErrorTypeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validMore()[tt.kind]
			old.(metav1.Object).SetResourceVersion("1")
			obj := old.DeepCopyObject()
			tt.mutate(obj)
			if errs := ValidateUpdate(obj, old); !hasError(errs, tt.path, tt.typ) {
				t.Errorf("want %s error on %q, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

// TestCronJobNameLimitOnCreateOnly: a stored CronJob with a long name
// (created before the limit) stays editable.
func TestCronJobNameLimitOnCreateOnly(t *testing.T) {
	old := validMore()["CronJob"].(*batchv1.CronJob)
	old.Name, old.ResourceVersion = strings.Repeat("a", 60), "1"
	upd := old.DeepCopy()
	upd.Spec.Schedule = "@daily"
	if errs := ValidateUpdate(upd, old); len(errs) != 0 {
		t.Errorf("update of a long-named CronJob rejected: %v", errs)
	}
	if errs := Validate(upd); !hasError(errs, "metadata.name", field.ErrorTypeInvalid) {
		t.Errorf("create of a long-named CronJob: %v", errs)
	}
}

// TestJobTemplateMutableWhileSuspended: a suspended job that never
// started may change its pod template, as upstream allows.
func TestJobTemplateMutableWhileSuspended(t *testing.T) {
	old := validMore()["Job"].(*batchv1.Job)
	old.ResourceVersion = "1"
	old.Spec.Suspend = ptr(true)
	upd := old.DeepCopy()
	upd.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	if errs := ValidateUpdate(upd, old); len(errs) != 0 {
		t.Errorf("suspended job template change rejected: %v", errs)
	}
}

func TestParseCron(t *testing.T) {
	tests := []struct {
		spec string
		err  string // "" means valid
	}{
		{"* * * * *", ""},
		{"*/5 * * * *", ""},
		{"0 3 * * mon-fri", ""},
		{"0 0 1,15 jan,JUL ?", ""},
		{"5/15 0-23/2 1-31 1-12 0-6", ""},
		{"@hourly", ""},
		{"@every 1h30m", ""},
		{"CRON_TZ=UTC 0 * * * *", ""},
		{"", "empty spec string"},
		{"bad", "expected exactly 5 fields, found 1: [bad]"},
		{"* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"},
		{"60 * * * *", "end of range (60) above maximum (59): 60"},
		{"* 24 * * *", "end of range (24) above maximum (23): 24"},
		{"* * 0 * *", "beginning of range (0) below minimum (1): 0"},
		{"* * * 13 *", "end of range (13) above maximum (12): 13"},
		{"* * * * 7", "end of range (7) above maximum (6): 7"},
		{"5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"},
		{"*/0 * * * *", "step of range should be a positive number: */0"},
		{"1-2-3 * * * *", "too many hyphens: 1-2-3"},
		{"*/1/2 * * * *", "too many slashes: */1/2"},
		{"x * * * *", "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"},
		{"@sometimes", "unrecognized descriptor: @sometimes"},
		{"@every soon", "failed to parse duration @every soon"},
	}
	for _, tt := range tests {
		err := parseCron(tt.spec)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%q: unexpected error %v", tt.spec, err)
		case tt.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.err)):
			t.Errorf("%q: error %v, want %q", tt.spec, err, tt.err)
		}
	}
}

package hpaconv

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func q(s string) *resource.Quantity { v := resource.MustParse(s); return &v }

// full is a v2 object using every field v1 cannot express.
func full() *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Annotations: map[string]string{"team": "a"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr(int32(2)), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("10")}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("100Mi")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "queue"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("30")}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(70))}}},
			},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(60)),
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 30}}}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: 3, DesiredReplicas: 4,
			CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
				Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr(int32(45)), AverageValue: q("200m")}}}},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, Reason: "ValidMetricFound"}},
		},
	}
}

func TestToV1(t *testing.T) {
	v1, err := ToV1(full())
	if err != nil {
		t.Fatal(err)
	}
	if v1.APIVersion != "autoscaling/v1" || *v1.Spec.TargetCPUUtilizationPercentage != 70 || *v1.Status.CurrentCPUUtilizationPercentage != 45 ||
		v1.Spec.MaxReplicas != 10 || *v1.Spec.MinReplicas != 2 || v1.Status.DesiredReplicas != 4 {
		t.Errorf("v1 = %+v", v1)
	}
	for _, k := range []string{MetricSpecsAnnotation, MetricStatusesAnnotation, ConditionsAnnotation, BehaviorSpecsAnnotation, "team"} {
		if _, ok := v1.Annotations[k]; !ok {
			t.Errorf("annotation %s missing: %v", k, v1.Annotations)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	cases := map[string]*autoscalingv2.HorizontalPodAutoscaler{
		"every v2 field": full(),
		"cpu only": {ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 2,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(50))}}}}}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			want := in.DeepCopy()
			v1, err := ToV1(in)
			if err != nil {
				t.Fatal(err)
			}
			back := ToV2(v1)
			// The order of metrics is kept except the CPU target, which v1
			// holds in its own field and restores last, as upstream does.
			want.APIVersion = "autoscaling/v2"
			if !apiequality.Semantic.DeepEqual(back, want) {
				t.Errorf("round trip changed the object\n got %+v\nwant %+v", back, want)
			}
			if !apiequality.Semantic.DeepEqual(in, full()) && name == "every v2 field" {
				t.Error("ToV1 modified its input")
			}
		})
	}
}

func TestToV2(t *testing.T) {
	cases := []struct {
		name  string
		in    *autoscalingv1.HorizontalPodAutoscaler
		check func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler)
	}{
		{"no target: the implicit 80% cpu", &autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3}},
			func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler) {
				if len(out.Spec.Metrics) != 1 || *out.Spec.Metrics[0].Resource.Target.AverageUtilization != DefaultCPUUtilization {
					t.Errorf("metrics = %+v", out.Spec.Metrics)
				}
			}},
		{"current cpu without annotations", &autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{TargetCPUUtilizationPercentage: ptr(int32(60))},
			Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentCPUUtilizationPercentage: ptr(int32(30))}},
			func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler) {
				if len(out.Status.CurrentMetrics) != 1 || *out.Status.CurrentMetrics[0].Resource.Current.AverageUtilization != 30 {
					t.Errorf("current = %+v", out.Status.CurrentMetrics)
				}
			}},
		{"malformed annotations are ignored and dropped", &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
			MetricSpecsAnnotation: "{not json", BehaviorSpecsAnnotation: "[]", ConditionsAnnotation: "7"}},
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{TargetCPUUtilizationPercentage: ptr(int32(60))}},
			func(t *testing.T, out *autoscalingv2.HorizontalPodAutoscaler) {
				if len(out.Spec.Metrics) != 1 || out.Spec.Behavior != nil || out.Status.Conditions != nil || out.Annotations != nil {
					t.Errorf("out = %+v", out)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, ToV2(tc.in)) })
	}
}

// TestStorageHooks: the catalogue's conversion hooks accept both versions
// and refuse other types.
func TestStorageHooks(t *testing.T) {
	if o, err := FromStorage(full()); err != nil || o.(*autoscalingv1.HorizontalPodAutoscaler).Kind != "HorizontalPodAutoscaler" {
		t.Errorf("FromStorage = %v, %v", o, err)
	}
	if o, err := ToStorage(&autoscalingv1.HorizontalPodAutoscaler{}); err != nil || o.(*autoscalingv2.HorizontalPodAutoscaler).APIVersion != "autoscaling/v2" {
		t.Errorf("ToStorage = %v, %v", o, err)
	}
	if _, err := FromStorage(&corev1.Pod{}); err == nil {
		t.Error("FromStorage(Pod) succeeded")
	}
	if _, err := ToStorage(&corev1.Pod{}); err == nil {
		t.Error("ToStorage(Pod) succeeded")
	}
}

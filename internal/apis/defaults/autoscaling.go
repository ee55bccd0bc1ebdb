package defaults

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// HPA defaults, as upstream's autoscaling/v2 defaulting.
const (
	defaultCPUUtilization          = int32(80)
	defaultScaleDownStabilization  = int32(300)
	defaultScaleUpStabilization    = int32(0)
	defaultScalePeriodSeconds      = int32(15)
	defaultScaleUpPods             = int32(4)
	defaultScalePercent            = int32(100)
	defaultMinReplicasAutoscalable = int32(1)
)

func defaultAutoscaling(obj runtime.Object) bool {
	switch o := obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		if o != nil {
			defaultHPAv2(o)
		}
	case *autoscalingv1.HorizontalPodAutoscaler:
		if o != nil {
			setIfNil(&o.Spec.MinReplicas, defaultMinReplicasAutoscalable)
		}
	default:
		return false
	}
	return true
}

func defaultHPAv2(h *autoscalingv2.HorizontalPodAutoscaler) {
	setIfNil(&h.Spec.MinReplicas, defaultMinReplicasAutoscalable)
	if len(h.Spec.Metrics) == 0 {
		u := defaultCPUUtilization
		h.Spec.Metrics = []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &u}},
		}}
	}
	// A behavior given in part is completed with the default rules.
	if b := h.Spec.Behavior; b != nil {
		b.ScaleUp = scaleRules(b.ScaleUp, defaultScaleUpStabilization, []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: defaultScaleUpPods, PeriodSeconds: defaultScalePeriodSeconds},
			{Type: autoscalingv2.PercentScalingPolicy, Value: defaultScalePercent, PeriodSeconds: defaultScalePeriodSeconds},
		})
		b.ScaleDown = scaleRules(b.ScaleDown, defaultScaleDownStabilization, []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PercentScalingPolicy, Value: defaultScalePercent, PeriodSeconds: defaultScalePeriodSeconds},
		})
	}
}

func scaleRules(in *autoscalingv2.HPAScalingRules, window int32, policies []autoscalingv2.HPAScalingPolicy) *autoscalingv2.HPAScalingRules {
	if in == nil {
		in = &autoscalingv2.HPAScalingRules{}
	}
	setIfNil(&in.StabilizationWindowSeconds, window)
	if in.SelectPolicy == nil {
		p := autoscalingv2.MaxChangePolicySelect
		in.SelectPolicy = &p
	}
	if in.Policies == nil {
		in.Policies = policies
	}
	return in
}

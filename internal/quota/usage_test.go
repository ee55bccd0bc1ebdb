package quota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func q(s string) resource.Quantity { return resource.MustParse(s) }

func TestUsage(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{
			{Name: "a", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": q("100m"), "memory": q("64Mi")}, Limits: corev1.ResourceList{"cpu": q("200m")}}},
			{Name: "b", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": q("100m"), "example.com/dongle": q("2")}}},
		},
		InitContainers: []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": q("500m")}}}},
	}}
	u := Usage(pods, pod)
	for name, want := range map[corev1.ResourceName]string{"pods": "1", "count/pods": "1", "requests.cpu": "500m", "cpu": "500m", "requests.memory": "64Mi", "limits.cpu": "200m", "requests.example.com/dongle": "2"} {
		if got := u[name]; got.Cmp(q(want)) != 0 {
			t.Errorf("%s = %s, want %s", name, got.String(), want)
		}
	}
	pod.Status.Phase = corev1.PodSucceeded
	if len(Usage(pods, pod)) != 0 {
		t.Error("a finished pod still uses quota")
	}

	class := "fast"
	claim := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class,
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": q("5Gi")}}}}
	cu := Usage(schema.GroupResource{Resource: "persistentvolumeclaims"}, claim)
	if v := cu["fast.storageclass.storage.k8s.io/requests.storage"]; v.Cmp(q("5Gi")) != 0 || cu["persistentvolumeclaims"] != q("1") {
		t.Errorf("claim usage %v", cu)
	}

	svc := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}, {Port: 443}}}}
	su := Usage(schema.GroupResource{Resource: "services"}, svc)
	if v := su["services.nodeports"]; v.Cmp(q("2")) != 0 {
		t.Errorf("service usage %v", su)
	}
	if got := CountName(schema.GroupResource{Group: "apps", Resource: "deployments"}); got != "count/deployments.apps" {
		t.Errorf("count name %s", got)
	}
	if gr, ok := ParseCountName("count/deployments.apps"); !ok || gr.Group != "apps" || gr.Resource != "deployments" {
		t.Errorf("parse %v %v", gr, ok)
	}
}

func TestExceededAndFormat(t *testing.T) {
	used := Add(corev1.ResourceList{"pods": q("2")}, corev1.ResourceList{"pods": q("1"), "secrets": q("1")})
	hard := corev1.ResourceList{"pods": q("2"), "secrets": q("5")}
	over := Exceeded(used, hard)
	if len(over) != 1 || over[0] != "pods" || Format(used, over) != "pods=3" {
		t.Errorf("exceeded %v %s", over, Format(used, over))
	}
}

func TestScopes(t *testing.T) {
	deadline := int64(30)
	bestEffort := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}, ActiveDeadlineSeconds: &deadline}}
	burstable := &corev1.Pod{Spec: corev1.PodSpec{PriorityClassName: "high", Containers: []corev1.Container{{Name: "c",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": q("1")}}}}}}
	quota := func(scopes []corev1.ResourceQuotaScope, sel ...corev1.ScopedResourceSelectorRequirement) *corev1.ResourceQuota {
		rq := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Scopes: scopes}}
		if len(sel) > 0 {
			rq.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: sel}
		}
		return rq
	}
	for _, tc := range []struct {
		name string
		q    *corev1.ResourceQuota
		pod  *corev1.Pod
		want bool
	}{
		{"unscoped", quota(nil), bestEffort, true},
		{"BestEffort", quota([]corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}), bestEffort, true},
		{"BestEffort vs burstable", quota([]corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}), burstable, false},
		{"Terminating", quota([]corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating}), bestEffort, true},
		{"NotTerminating", quota([]corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating}), bestEffort, false},
		{"PriorityClass In", quota(nil, corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}}), burstable, true},
		{"PriorityClass NotIn", quota(nil, corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpNotIn, Values: []string{"high"}}), burstable, false},
	} {
		if got := Matches(tc.q, tc.pod); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if Matches(quota([]corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}), &corev1.ConfigMap{}) {
		t.Error("a scoped quota covered a config map")
	}
}

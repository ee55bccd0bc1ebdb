package quota

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"slices"
)

// Matches reports whether q covers obj: an unscoped quota covers every
// object of its namespace; scopes and scope selectors select pods only,
// as upstream.
func Matches(q *corev1.ResourceQuota, obj runtime.Object) bool {
	var sel []corev1.ScopedResourceSelectorRequirement
	for _, s := range q.Spec.Scopes {
		sel = append(sel, corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
	}
	if q.Spec.ScopeSelector != nil {
		sel = append(sel, q.Spec.ScopeSelector.MatchExpressions...)
	}
	if len(sel) == 0 {
		return true
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return false
	}
	for _, r := range sel {
		if !podMatches(p, r) {
			return false
		}
	}
	return true
}

func podMatches(p *corev1.Pod, r corev1.ScopedResourceSelectorRequirement) bool {
	switch r.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return p.Spec.ActiveDeadlineSeconds != nil && *p.Spec.ActiveDeadlineSeconds >= 0
	case corev1.ResourceQuotaScopeNotTerminating:
		return p.Spec.ActiveDeadlineSeconds == nil || *p.Spec.ActiveDeadlineSeconds < 0
	case corev1.ResourceQuotaScopeBestEffort:
		return bestEffort(p)
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !bestEffort(p)
	case corev1.ResourceQuotaScopePriorityClass:
		switch r.Operator {
		case corev1.ScopeSelectorOpExists:
			return p.Spec.PriorityClassName != ""
		case corev1.ScopeSelectorOpDoesNotExist:
			return p.Spec.PriorityClassName == ""
		case corev1.ScopeSelectorOpIn:
			return slices.Contains(r.Values, p.Spec.PriorityClassName)
		case corev1.ScopeSelectorOpNotIn:
			return !slices.Contains(r.Values, p.Spec.PriorityClassName)
		}
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return crossNamespaceAffinity(p)
	}
	return false
}

// bestEffort: no container sets a CPU or memory request or limit.
func bestEffort(p *corev1.Pod) bool {
	all := append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...)
	for _, c := range all {
		for _, l := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
			if _, ok := l[corev1.ResourceCPU]; ok {
				return false
			}
			if _, ok := l[corev1.ResourceMemory]; ok {
				return false
			}
		}
	}
	return true
}

func crossNamespaceAffinity(p *corev1.Pod) bool {
	a := p.Spec.Affinity
	if a == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	if a.PodAffinity != nil {
		terms = append(terms, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if a.PodAntiAffinity != nil {
		terms = append(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	for _, t := range terms {
		if len(t.Namespaces) > 0 || t.NamespaceSelector != nil {
			return true
		}
	}
	return false
}

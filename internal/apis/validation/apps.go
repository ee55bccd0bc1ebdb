package validation

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateSelectorAndTemplate applies the rules shared by all workloads:
// a required, non-empty, valid selector that matches the template's labels,
// and a valid pod template.
func validateSelectorAndTemplate(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec, kind string, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	selPath := spec.Child("selector")
	switch {
	case sel == nil:
		errs = append(errs, field.Required(selPath, ""))
	default:
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, selPath)...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(selPath, sel, "empty selector is invalid for "+kind))
		}
	}
	tp := spec.Child("template")
	if sel != nil && len(errs) == 0 {
		if s, err := metav1.LabelSelectorAsSelector(sel); err == nil && !s.Matches(labels.Set(tmpl.Labels)) {
			errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), tmpl.Labels, "`selector` does not match template `labels`"))
		}
	}
	mp := tp.Child("metadata")
	errs = append(errs, metav1validation.ValidateLabels(tmpl.Labels, mp.Child("labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(tmpl.Annotations, mp.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&tmpl.Spec, tp.Child("spec"), true)...)
	return errs
}

func nonNegative(v *int32, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	return apivalidation.ValidateNonnegativeField(int64(*v), p)
}

func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	spec := field.NewPath("spec")
	errs := nonNegative(d.Spec.Replicas, spec.Child("replicas"))
	errs = append(errs, validateSelectorAndTemplate(d.Spec.Selector, &d.Spec.Template, "deployment", spec)...)
	errs = append(errs, nonNegative(d.Spec.RevisionHistoryLimit, spec.Child("revisionHistoryLimit"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(d.Spec.MinReadySeconds), spec.Child("minReadySeconds"))...)
	if pd := d.Spec.ProgressDeadlineSeconds; pd != nil {
		errs = append(errs, nonNegative(pd, spec.Child("progressDeadlineSeconds"))...)
		if *pd <= d.Spec.MinReadySeconds {
			errs = append(errs, field.Invalid(spec.Child("progressDeadlineSeconds"), *pd, "must be greater than minReadySeconds"))
		}
	}
	sp := spec.Child("strategy")
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if d.Spec.Strategy.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(sp.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
			errs = append(errs, validateSurgeUnavailable(ru.MaxSurge, ru.MaxUnavailable, sp.Child("rollingUpdate"))...)
		}
	case "":
		errs = append(errs, field.Required(sp.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(sp.Child("type"), d.Spec.Strategy.Type, []appsv1.DeploymentStrategyType{
			appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType}))
	}
	return errs
}

// validateIntOrPercent checks a non-negative integer or an "N%" string up
// to 100%.
func validateIntOrPercent(v *intstr.IntOrString, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	if v.Type == intstr.String {
		n, ok := strings.CutSuffix(v.StrVal, "%")
		i, err := strconv.Atoi(n)
		if !ok || err != nil {
			return field.ErrorList{field.Invalid(p, v.StrVal, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")}
		}
		if i < 0 || i > 100 {
			return field.ErrorList{field.Invalid(p, v.StrVal, "must not be greater than 100%")}
		}
		return nil
	}
	return apivalidation.ValidateNonnegativeField(int64(v.IntVal), p)
}

func isZero(v *intstr.IntOrString) bool {
	return v != nil && ((v.Type == intstr.Int && v.IntVal == 0) || (v.Type == intstr.String && (v.StrVal == "0%" || v.StrVal == "0")))
}

// validateSurgeUnavailable rejects rollouts that could never progress.
func validateSurgeUnavailable(surge, unavailable *intstr.IntOrString, p *field.Path) field.ErrorList {
	errs := validateIntOrPercent(unavailable, p.Child("maxUnavailable"))
	errs = append(errs, validateIntOrPercent(surge, p.Child("maxSurge"))...)
	if isZero(surge) && isZero(unavailable) {
		errs = append(errs, field.Invalid(p.Child("maxUnavailable"), unavailable, "may not be 0 when `maxSurge` is 0"))
	}
	return errs
}

func validateDeploymentStatus(st *appsv1.DeploymentStatus) field.ErrorList {
	return nonNegativeCounts(field.NewPath("status"), []string{
		"replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas",
	}, st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.UnavailableReplicas)
}

// nonNegativeCounts checks that each of vals (named by names, in order) is
// not negative.
func nonNegativeCounts(p *field.Path, names []string, vals ...int32) field.ErrorList {
	var errs field.ErrorList
	for i, v := range vals {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(v), p.Child(names[i]))...)
	}
	return errs
}

func validateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	spec := field.NewPath("spec")
	errs := nonNegative(rs.Spec.Replicas, spec.Child("replicas"))
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(rs.Spec.MinReadySeconds), spec.Child("minReadySeconds"))...)
	return append(errs, validateSelectorAndTemplate(rs.Spec.Selector, &rs.Spec.Template, "replicaset", spec)...)
}

func validateReplicaSetStatus(st *appsv1.ReplicaSetStatus) field.ErrorList {
	p := field.NewPath("status")
	errs := nonNegativeCounts(p, []string{"replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"},
		st.Replicas, st.FullyLabeledReplicas, st.ReadyReplicas, st.AvailableReplicas)
	if st.ReadyReplicas > st.Replicas {
		errs = append(errs, field.Invalid(p.Child("readyReplicas"), st.ReadyReplicas, "cannot be greater than status.replicas"))
	}
	return errs
}

func validateStatefulSet(ss *appsv1.StatefulSet) field.ErrorList {
	spec := field.NewPath("spec")
	errs := nonNegative(ss.Spec.Replicas, spec.Child("replicas"))
	errs = append(errs, validateSelectorAndTemplate(ss.Spec.Selector, &ss.Spec.Template, "statefulset", spec)...)
	errs = append(errs, nonNegative(ss.Spec.RevisionHistoryLimit, spec.Child("revisionHistoryLimit"))...)
	switch ss.Spec.PodManagementPolicy {
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	case "":
		errs = append(errs, field.Required(spec.Child("podManagementPolicy"), ""))
	default:
		errs = append(errs, field.Invalid(spec.Child("podManagementPolicy"), ss.Spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	up := spec.Child("updateStrategy")
	switch ss.Spec.UpdateStrategy.Type {
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := ss.Spec.UpdateStrategy.RollingUpdate; ru != nil {
			errs = append(errs, nonNegative(ru.Partition, up.Child("rollingUpdate", "partition"))...)
		}
	case appsv1.OnDeleteStatefulSetStrategyType:
		if ss.Spec.UpdateStrategy.RollingUpdate != nil {
			errs = append(errs, field.Invalid(up.Child("rollingUpdate"), ss.Spec.UpdateStrategy.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		}
	case "":
		errs = append(errs, field.Required(up, ""))
	default:
		errs = append(errs, field.Invalid(up, ss.Spec.UpdateStrategy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)))
	}
	if ss.Spec.ServiceName != "" {
		for _, msg := range apivalidation.NameIsDNSLabel(ss.Spec.ServiceName, false) {
			errs = append(errs, field.Invalid(spec.Child("serviceName"), ss.Spec.ServiceName, msg))
		}
	}
	if rp := ss.Spec.PersistentVolumeClaimRetentionPolicy; rp != nil {
		valid := []appsv1.PersistentVolumeClaimRetentionPolicyType{appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType}
		pp := spec.Child("persistentVolumeClaimRetentionPolicy")
		for i, v := range []appsv1.PersistentVolumeClaimRetentionPolicyType{rp.WhenDeleted, rp.WhenScaled} {
			if v != appsv1.RetainPersistentVolumeClaimRetentionPolicyType && v != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
				errs = append(errs, field.NotSupported(pp.Child([]string{"whenDeleted", "whenScaled"}[i]), v, valid))
			}
		}
	}
	return errs
}

// validateStatefulSetUpdate allows changing only what the StatefulSet
// controller can roll out; the rest (selector, serviceName, volume claim
// templates, pod management policy) is fixed at creation.
func validateStatefulSetUpdate(ss, old *appsv1.StatefulSet) field.ErrorList {
	mutated := old.Spec.DeepCopy()
	mutated.Replicas = ss.Spec.Replicas
	mutated.Ordinals = ss.Spec.Ordinals
	mutated.Template = ss.Spec.Template
	mutated.UpdateStrategy = ss.Spec.UpdateStrategy
	mutated.PersistentVolumeClaimRetentionPolicy = ss.Spec.PersistentVolumeClaimRetentionPolicy
	mutated.MinReadySeconds = ss.Spec.MinReadySeconds
	mutated.RevisionHistoryLimit = ss.Spec.RevisionHistoryLimit
	if !apiequality.Semantic.DeepEqual(*mutated, ss.Spec) {
		return field.ErrorList{field.Forbidden(field.NewPath("spec"),
			"updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")}
	}
	return nil
}

func validateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	spec := field.NewPath("spec")
	errs := validateSelectorAndTemplate(ds.Spec.Selector, &ds.Spec.Template, "daemonset", spec)
	errs = append(errs, nonNegative(ds.Spec.RevisionHistoryLimit, spec.Child("revisionHistoryLimit"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(ds.Spec.MinReadySeconds), spec.Child("minReadySeconds"))...)
	up := spec.Child("updateStrategy")
	switch ds.Spec.UpdateStrategy.Type {
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil {
			errs = append(errs, validateSurgeUnavailable(ru.MaxSurge, ru.MaxUnavailable, up.Child("rollingUpdate"))...)
		}
	case appsv1.OnDeleteDaemonSetStrategyType:
	case "":
		errs = append(errs, field.Required(up.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(up.Child("type"), ds.Spec.UpdateStrategy.Type, []appsv1.DaemonSetUpdateStrategyType{
			appsv1.OnDeleteDaemonSetStrategyType, appsv1.RollingUpdateDaemonSetStrategyType}))
	}
	return errs
}

// immutableSelector enforces apps/v1's rule that a workload's selector is
// fixed at creation (changing it would orphan its pods).
func immutableSelector(sel, old *metav1.LabelSelector) field.ErrorList {
	return apivalidation.ValidateImmutableField(sel, old, field.NewPath("spec", "selector"))
}

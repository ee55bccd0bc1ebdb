package validation

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/apis/hpaconv"
)

const immutableMsg = "field is immutable"

// moreRules returns the rules of the kinds added with issue 8 (core
// limit ranges to policy PDBs).
func moreRules(obj runtime.Object) (kindRules, bool) {
	dns := apivalidation.NameIsDNSSubdomain
	switch o := obj.(type) {
	case *corev1.LimitRange:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body: func() field.ErrorList { return validateLimitRange(o) }}, true
		}
	case *corev1.PersistentVolume:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: dns,
				body:   func() field.ErrorList { return validatePV(o) },
				update: func(old runtime.Object) field.ErrorList { return validatePVUpdate(o, old.(*corev1.PersistentVolume)) },
				status: func(runtime.Object) field.ErrorList { return validatePVStatus(o) }}, true
		}
	case *corev1.PodTemplate:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body: func() field.ErrorList {
					return validatePodTemplateSpec(&o.Template, field.NewPath("template"))
				}}, true
		}
	case *corev1.ReplicationController:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body: func() field.ErrorList { return validateRC(o) },
				status: func(runtime.Object) field.ErrorList {
					s := o.Status
					return nonNegativeCounts(field.NewPath("status"), []string{"replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"},
						s.Replicas, s.FullyLabeledReplicas, s.ReadyReplicas, s.AvailableReplicas)
				}}, true
		}
	case *corev1.ResourceQuota:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body: func() field.ErrorList { return validateQuota(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validateQuotaUpdate(o, old.(*corev1.ResourceQuota))
				},
				status: func(runtime.Object) field.ErrorList { return validateQuotaStatus(o) }}, true
		}
	case *appsv1.ControllerRevision:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body: func() field.ErrorList { return validateControllerRevision(o) },
				update: func(old runtime.Object) field.ErrorList {
					return apivalidation.ValidateImmutableField(o.Data, old.(*appsv1.ControllerRevision).Data, field.NewPath("data"))
				}}, true
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body:   func() field.ErrorList { return validateHPA(o) },
				status: func(runtime.Object) field.ErrorList { return validateHPAStatus(&o.Status) }}, true
		}
	case *autoscalingv1.HorizontalPodAutoscaler:
		if o != nil {
			// Checked in its v2 form, as upstream checks the internal one:
			// the rules are the same whatever version a client speaks.
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body: func() field.ErrorList { return validateHPA(hpaconv.ToV2(o)) },
				status: func(runtime.Object) field.ErrorList {
					return validateHPAStatus(&hpaconv.ToV2(o).Status)
				}}, true
		}
	case *batchv1.Job:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body:   func() field.ErrorList { return validateJob(o) },
				update: func(old runtime.Object) field.ErrorList { return validateJobUpdate(o, old.(*batchv1.Job)) },
				status: func(runtime.Object) field.ErrorList { return validateJobStatus(&o.Status) }}, true
		}
	case *batchv1.CronJob:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				// The name limit applies on create only: older objects
				// with longer names stay editable.
				create: func() field.ErrorList { return validateCronJobName(o) },
				body:   func() field.ErrorList { return validateCronJob(o) }}, true
		}
	case *policyv1.PodDisruptionBudget:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body:   func() field.ErrorList { return validatePDB(o) },
				status: func(runtime.Object) field.ErrorList { return validatePDBStatus(&o.Status) }}, true
		}
	}
	return kindRules{}, false
}

// nonNegativeQuantity reports a negative quantity.
func nonNegativeQuantity(q resource.Quantity, p *field.Path) field.ErrorList {
	if q.Sign() < 0 {
		return field.ErrorList{field.Invalid(p, q.String(), "must be greater than or equal to 0")}
	}
	return nil
}

func validateResourceName(name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(name) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}

func validateResourceList(l corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k, v := range l {
		kp := p.Key(string(k))
		errs = append(errs, validateResourceName(string(k), kp)...)
		errs = append(errs, nonNegativeQuantity(v, kp)...)
	}
	return errs
}

func validateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	var errs field.ErrorList
	lp := field.NewPath("spec", "limits")
	for i, it := range lr.Spec.Limits {
		ip := lp.Index(i)
		switch it.Type {
		case corev1.LimitTypePod, corev1.LimitTypeContainer, corev1.LimitTypePersistentVolumeClaim:
		case "":
			errs = append(errs, field.Required(ip.Child("type"), ""))
		default:
			errs = append(errs, field.NotSupported(ip.Child("type"), it.Type, []corev1.LimitType{corev1.LimitTypePod, corev1.LimitTypeContainer, corev1.LimitTypePersistentVolumeClaim}))
		}
		if it.Type == corev1.LimitTypePod {
			if len(it.Default) > 0 {
				errs = append(errs, field.Forbidden(ip.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(it.DefaultRequest) > 0 {
				errs = append(errs, field.Forbidden(ip.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		}
		for _, part := range []struct {
			name string
			l    corev1.ResourceList
		}{{"max", it.Max}, {"min", it.Min}, {"default", it.Default}, {"defaultRequest", it.DefaultRequest}, {"maxLimitRequestRatio", it.MaxLimitRequestRatio}} {
			errs = append(errs, validateResourceList(part.l, ip.Child(part.name))...)
		}
		for k, mn := range it.Min {
			if mx, ok := it.Max[k]; ok && mn.Cmp(mx) > 0 {
				errs = append(errs, field.Invalid(ip.Child("min").Key(string(k)), mn.String(), fmt.Sprintf("min value %s is greater than max value %s", mn.String(), mx.String())))
			}
		}
		for k, d := range it.Default {
			if mx, ok := it.Max[k]; ok && d.Cmp(mx) > 0 {
				errs = append(errs, field.Invalid(ip.Child("default").Key(string(k)), d.String(), fmt.Sprintf("default value %s is greater than max value %s", d.String(), mx.String())))
			}
			if mn, ok := it.Min[k]; ok && mn.Cmp(d) > 0 {
				errs = append(errs, field.Invalid(ip.Child("default").Key(string(k)), d.String(), fmt.Sprintf("min value %s is greater than default value %s", mn.String(), d.String())))
			}
		}
		for k, r := range it.DefaultRequest {
			if d, ok := it.Default[k]; ok && r.Cmp(d) > 0 {
				errs = append(errs, field.Invalid(ip.Child("defaultRequest").Key(string(k)), r.String(), fmt.Sprintf("default request value %s is greater than default limit value %s", r.String(), d.String())))
			}
		}
	}
	return errs
}

// volumeSources lists the set volume sources of a PV by field name.
func volumeSources(s *corev1.PersistentVolumeSource) []string {
	var set []string
	v := reflect.ValueOf(s).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name := v.Type().Field(i).Tag.Get("json")
			set = append(set, strings.Split(name, ",")[0])
		}
	}
	return set
}

var pvAccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod}

func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(modes) == 0 {
		return field.ErrorList{field.Required(p, "")}
	}
	for _, m := range modes {
		ok := false
		for _, v := range pvAccessModes {
			ok = ok || m == v
		}
		if !ok {
			errs = append(errs, field.NotSupported(p, m, pvAccessModes))
		}
	}
	return errs
}

func validatePV(pv *corev1.PersistentVolume) field.ErrorList {
	sp := field.NewPath("spec")
	errs := validateAccessModes(pv.Spec.AccessModes, sp.Child("accessModes"))
	if len(pv.Spec.Capacity) == 0 {
		errs = append(errs, field.Required(sp.Child("capacity"), ""))
	}
	for k, q := range pv.Spec.Capacity {
		if k != corev1.ResourceStorage {
			errs = append(errs, field.NotSupported(sp.Child("capacity"), k, []corev1.ResourceName{corev1.ResourceStorage}))
			continue
		}
		errs = append(errs, nonNegativeQuantity(q, sp.Child("capacity").Key(string(k)))...)
	}
	switch pv.Spec.PersistentVolumeReclaimPolicy {
	case "", corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain:
	default:
		errs = append(errs, field.NotSupported(sp.Child("persistentVolumeReclaimPolicy"), pv.Spec.PersistentVolumeReclaimPolicy,
			[]corev1.PersistentVolumeReclaimPolicy{corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain}))
	}
	if m := pv.Spec.VolumeMode; m != nil && *m != corev1.PersistentVolumeBlock && *m != corev1.PersistentVolumeFilesystem {
		errs = append(errs, field.NotSupported(sp.Child("volumeMode"), *m, []corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}))
	}
	srcs := volumeSources(&pv.Spec.PersistentVolumeSource)
	switch {
	case len(srcs) == 0:
		errs = append(errs, field.Required(sp, "must specify a volume type"))
	case len(srcs) > 1:
		errs = append(errs, field.Forbidden(sp.Child(srcs[1]), "may not specify more than 1 volume type"))
	}
	if hp := pv.Spec.HostPath; hp != nil && hp.Path == "" {
		errs = append(errs, field.Required(sp.Child("hostPath", "path"), ""))
	}
	if l := pv.Spec.Local; l != nil && l.Path == "" {
		errs = append(errs, field.Required(sp.Child("local", "path"), ""))
	}
	if c := pv.Spec.CSI; c != nil {
		if c.Driver == "" {
			errs = append(errs, field.Required(sp.Child("csi", "driver"), ""))
		}
		if c.VolumeHandle == "" {
			errs = append(errs, field.Required(sp.Child("csi", "volumeHandle"), ""))
		}
	}
	if pv.Spec.StorageClassName != "" {
		for _, msg := range apivalidation.NameIsDNSSubdomain(pv.Spec.StorageClassName, false) {
			errs = append(errs, field.Invalid(sp.Child("storageClassName"), pv.Spec.StorageClassName, msg))
		}
	}
	return errs
}

func validatePVUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	var errs field.ErrorList
	if !apiequality.Semantic.DeepEqual(pv.Spec.PersistentVolumeSource, old.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"), "spec.persistentvolumesource is immutable after creation"))
	}
	errs = append(errs, apivalidation.ValidateImmutableField(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.NodeAffinity != nil {
		errs = append(errs, apivalidation.ValidateImmutableField(pv.Spec.NodeAffinity, old.Spec.NodeAffinity, field.NewPath("nodeAffinity"))...)
	}
	return errs
}

func validatePVStatus(pv *corev1.PersistentVolume) field.ErrorList {
	switch pv.Status.Phase {
	case "", corev1.VolumePending, corev1.VolumeAvailable, corev1.VolumeBound, corev1.VolumeReleased, corev1.VolumeFailed:
		return nil
	}
	return field.ErrorList{field.NotSupported(field.NewPath("status", "phase"), pv.Status.Phase,
		[]corev1.PersistentVolumePhase{corev1.VolumePending, corev1.VolumeAvailable, corev1.VolumeBound, corev1.VolumeReleased, corev1.VolumeFailed})}
}

// validatePodTemplateSpec checks a template's metadata and pod spec
// (pod templates, jobs: any restart policy the pod spec allows).
func validatePodTemplateSpec(t *corev1.PodTemplateSpec, p *field.Path) field.ErrorList {
	mp := p.Child("metadata")
	errs := metav1validation.ValidateLabels(t.Labels, mp.Child("labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(t.Annotations, mp.Child("annotations"))...)
	return append(errs, validatePodSpec(&t.Spec, p.Child("spec"), false)...)
}

func validateRC(rc *corev1.ReplicationController) field.ErrorList {
	sp := field.NewPath("spec")
	errs := apivalidation.ValidateNonnegativeField(int64(rc.Spec.MinReadySeconds), sp.Child("minReadySeconds"))
	errs = append(errs, nonNegative(rc.Spec.Replicas, sp.Child("replicas"))...)
	if len(rc.Spec.Selector) == 0 {
		errs = append(errs, field.Required(sp.Child("selector"), ""))
	}
	errs = append(errs, metav1validation.ValidateLabels(rc.Spec.Selector, sp.Child("selector"))...)
	tp := sp.Child("template")
	t := rc.Spec.Template
	if t == nil {
		return append(errs, field.Required(tp, ""))
	}
	if len(rc.Spec.Selector) > 0 && !labels.SelectorFromSet(rc.Spec.Selector).Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	mp := tp.Child("metadata")
	errs = append(errs, metav1validation.ValidateLabels(t.Labels, mp.Child("labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(t.Annotations, mp.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&t.Spec, tp.Child("spec"), true)...)
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}

var quotaScopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
	corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopePriorityClass,
	corev1.ResourceQuotaScopeCrossNamespacePodAffinity}

// integerQuotaResources must be whole numbers: they count objects.
func integerQuotaResource(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
		corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
		corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers:
		return true
	}
	return strings.HasPrefix(string(name), "count/")
}

func validateQuotaList(l corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k, v := range l {
		kp := p.Key(string(k))
		errs = append(errs, validateResourceName(string(k), kp)...)
		errs = append(errs, nonNegativeQuantity(v, kp)...)
		if integerQuotaResource(k) && v.MilliValue()%1000 != 0 {
			errs = append(errs, field.Invalid(kp, v.String(), "must be an integer"))
		}
	}
	return errs
}

func validateQuota(q *corev1.ResourceQuota) field.ErrorList {
	sp := field.NewPath("spec")
	errs := validateQuotaList(q.Spec.Hard, sp.Child("hard"))
	for i, s := range q.Spec.Scopes {
		ok := false
		for _, v := range quotaScopes {
			ok = ok || s == v
		}
		if !ok {
			errs = append(errs, field.NotSupported(sp.Child("scopes").Index(i), s, quotaScopes))
		}
	}
	return errs
}

func validateQuotaUpdate(q, old *corev1.ResourceQuota) field.ErrorList {
	var errs field.ErrorList
	if !apiequality.Semantic.DeepEqual(q.Spec.Scopes, old.Spec.Scopes) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "scopes"), q.Spec.Scopes, immutableMsg))
	}
	if !apiequality.Semantic.DeepEqual(q.Spec.ScopeSelector, old.Spec.ScopeSelector) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "scopeSelector"), q.Spec.ScopeSelector, immutableMsg))
	}
	return errs
}

func validateQuotaStatus(q *corev1.ResourceQuota) field.ErrorList {
	sp := field.NewPath("status")
	return append(validateQuotaList(q.Status.Hard, sp.Child("hard")), validateQuotaList(q.Status.Used, sp.Child("used"))...)
}

func validateControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	var errs field.ErrorList
	if cr.Data.Raw == nil && cr.Data.Object == nil {
		errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
	}
	return append(errs, apivalidation.ValidateNonnegativeField(cr.Revision, field.NewPath("revision"))...)
}

var hpaMetricTypes = []autoscalingv2.MetricSourceType{autoscalingv2.ContainerResourceMetricSourceType, autoscalingv2.ExternalMetricSourceType,
	autoscalingv2.ObjectMetricSourceType, autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType}

func validateHPA(h *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	sp := field.NewPath("spec")
	var errs field.ErrorList
	if m := h.Spec.MinReplicas; m != nil && *m < 1 {
		errs = append(errs, field.Invalid(sp.Child("minReplicas"), *m, "must be greater than or equal to 1"))
	}
	if h.Spec.MaxReplicas < 1 {
		errs = append(errs, field.Invalid(sp.Child("maxReplicas"), h.Spec.MaxReplicas, "must be greater than 0"))
	}
	if m := h.Spec.MinReplicas; m != nil && h.Spec.MaxReplicas < *m {
		errs = append(errs, field.Invalid(sp.Child("maxReplicas"), h.Spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	errs = append(errs, validateCrossVersionRef(h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name, sp.Child("scaleTargetRef"))...)
	for i := range h.Spec.Metrics {
		errs = append(errs, validateMetricSpec(&h.Spec.Metrics[i], sp.Child("metrics").Index(i))...)
	}
	if b := h.Spec.Behavior; b != nil {
		bp := sp.Child("behavior")
		errs = append(errs, validateScalingRules(b.ScaleUp, bp.Child("scaleUp"))...)
		errs = append(errs, validateScalingRules(b.ScaleDown, bp.Child("scaleDown"))...)
	}
	return errs
}

func validateCrossVersionRef(kind, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	} else {
		for _, msg := range path.IsValidPathSegmentName(kind) {
			errs = append(errs, field.Invalid(p.Child("kind"), kind, msg))
		}
	}
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		for _, msg := range path.IsValidPathSegmentName(name) {
			errs = append(errs, field.Invalid(p.Child("name"), name, msg))
		}
	}
	return errs
}

func validateMetricTarget(t autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch t.Type {
	case autoscalingv2.UtilizationMetricType, autoscalingv2.ValueMetricType, autoscalingv2.AverageValueMetricType:
	case "":
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric target type"))
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), t.Type, []autoscalingv2.MetricTargetType{
			autoscalingv2.UtilizationMetricType, autoscalingv2.ValueMetricType, autoscalingv2.AverageValueMetricType}))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(p.Child("averageUtilization"), *t.AverageUtilization, "must be greater than 0"))
	}
	if t.Value != nil && t.Value.Sign() <= 0 {
		errs = append(errs, field.Invalid(p.Child("value"), t.Value.String(), "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() <= 0 {
		errs = append(errs, field.Invalid(p.Child("averageValue"), t.AverageValue.String(), "must be positive"))
	}
	return errs
}

func validateMetricSpec(m *autoscalingv2.MetricSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	var set []string
	if m.Object != nil {
		set = append(set, "object")
		errs = append(errs, validateCrossVersionRef(m.Object.DescribedObject.Kind, m.Object.DescribedObject.Name, p.Child("object", "describedObject"))...)
		errs = append(errs, validateMetricTarget(m.Object.Target, p.Child("object", "target"))...)
	}
	if m.Pods != nil {
		set = append(set, "pods")
		errs = append(errs, validateMetricTarget(m.Pods.Target, p.Child("pods", "target"))...)
	}
	if m.Resource != nil {
		set = append(set, "resource")
		if m.Resource.Name == "" {
			errs = append(errs, field.Required(p.Child("resource", "name"), "must specify a resource name"))
		}
		errs = append(errs, validateMetricTarget(m.Resource.Target, p.Child("resource", "target"))...)
	}
	if m.ContainerResource != nil {
		set = append(set, "containerResource")
		if m.ContainerResource.Container == "" {
			errs = append(errs, field.Required(p.Child("containerResource", "container"), "must specify a container"))
		}
		errs = append(errs, validateMetricTarget(m.ContainerResource.Target, p.Child("containerResource", "target"))...)
	}
	if m.External != nil {
		set = append(set, "external")
		errs = append(errs, validateMetricTarget(m.External.Target, p.Child("external", "target"))...)
	}
	want := map[autoscalingv2.MetricSourceType]string{
		autoscalingv2.ObjectMetricSourceType: "object", autoscalingv2.PodsMetricSourceType: "pods",
		autoscalingv2.ResourceMetricSourceType: "resource", autoscalingv2.ContainerResourceMetricSourceType: "containerResource",
		autoscalingv2.ExternalMetricSourceType: "external",
	}
	switch {
	case m.Type == "":
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric source type"))
	case want[m.Type] == "":
		errs = append(errs, field.NotSupported(p.Child("type"), m.Type, hpaMetricTypes))
	case len(set) == 0 || set[0] != want[m.Type] && len(set) == 1:
		errs = append(errs, field.Required(p.Child(want[m.Type]), "must populate information for the given metric source"))
	}
	if len(set) > 1 {
		errs = append(errs, field.Forbidden(p, "must populate the given metric source only"))
	}
	return errs
}

func validateScalingRules(r *autoscalingv2.HPAScalingRules, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > 3600) {
		errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), *w, "must be less than or equal to 3600 and greater than or equal to 0"))
	}
	if s := r.SelectPolicy; s != nil {
		switch *s {
		case autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect:
		default:
			errs = append(errs, field.NotSupported(p.Child("selectPolicy"), *s, []autoscalingv2.ScalingPolicySelect{
				autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect}))
		}
	}
	if len(r.Policies) == 0 {
		errs = append(errs, field.Required(p.Child("policies"), "must specify at least one Policy"))
	}
	for i, pol := range r.Policies {
		pp := p.Child("policies").Index(i)
		switch pol.Type {
		case autoscalingv2.PodsScalingPolicy, autoscalingv2.PercentScalingPolicy:
		default:
			errs = append(errs, field.NotSupported(pp.Child("type"), pol.Type, []autoscalingv2.HPAScalingPolicyType{autoscalingv2.PodsScalingPolicy, autoscalingv2.PercentScalingPolicy}))
		}
		if pol.Value <= 0 {
			errs = append(errs, field.Invalid(pp.Child("value"), pol.Value, "must be greater than zero"))
		}
		if pol.PeriodSeconds <= 0 || pol.PeriodSeconds > 1800 {
			errs = append(errs, field.Invalid(pp.Child("periodSeconds"), pol.PeriodSeconds, "must be greater than zero and less than or equal to 1800"))
		}
	}
	return errs
}

func validateHPAStatus(s *autoscalingv2.HorizontalPodAutoscalerStatus) field.ErrorList {
	return nonNegativeCounts(field.NewPath("status"), []string{"currentReplicas", "desiredReplicas"}, s.CurrentReplicas, s.DesiredReplicas)
}

// validateJobTemplateRestart: a job's pods run to completion.
func validateJobRestartPolicy(s *corev1.PodSpec, p *field.Path) field.ErrorList {
	switch s.RestartPolicy {
	case corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
		return nil
	case "":
		return nil // reported as required by the pod spec rules
	}
	return field.ErrorList{field.NotSupported(p, s.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever})}
}

// validateJobSpec checks a job's spec; requireSelector is false in a
// CronJob's job template, whose selector is generated per job.
func validateJobSpec(s *batchv1.JobSpec, p *field.Path, requireSelector bool) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, nonNegative(s.Parallelism, p.Child("parallelism"))...)
	errs = append(errs, nonNegative(s.Completions, p.Child("completions"))...)
	errs = append(errs, nonNegative(s.BackoffLimit, p.Child("backoffLimit"))...)
	errs = append(errs, nonNegative(s.TTLSecondsAfterFinished, p.Child("ttlSecondsAfterFinished"))...)
	if a := s.ActiveDeadlineSeconds; a != nil && *a <= 0 {
		errs = append(errs, field.Invalid(p.Child("activeDeadlineSeconds"), *a, "must be greater than 0"))
	}
	if m := s.CompletionMode; m != nil {
		switch *m {
		case batchv1.NonIndexedCompletion:
		case batchv1.IndexedCompletion:
			if s.Completions == nil {
				errs = append(errs, field.Required(p.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("completionMode"), *m, []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
		}
	}
	if s.BackoffLimitPerIndex != nil && (s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion) {
		errs = append(errs, field.Invalid(p.Child("backoffLimitPerIndex"), *s.BackoffLimitPerIndex, "requires indexed completion mode"))
	}
	if r := s.PodReplacementPolicy; r != nil {
		switch *r {
		case batchv1.TerminatingOrFailed, batchv1.Failed:
			if *r != batchv1.Failed && s.PodFailurePolicy != nil {
				errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), *r, []batchv1.PodReplacementPolicy{batchv1.Failed}))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), *r, []batchv1.PodReplacementPolicy{batchv1.Failed, batchv1.TerminatingOrFailed}))
		}
	}
	sel := s.Selector
	switch {
	case sel == nil && requireSelector:
		errs = append(errs, field.Required(p.Child("selector"), ""))
	case sel != nil:
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
		if ls, err := metav1.LabelSelectorAsSelector(sel); err == nil && !ls.Matches(labels.Set(s.Template.Labels)) {
			errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), s.Template.Labels, "`selector` does not match template `labels`"))
		}
	}
	tp := p.Child("template")
	errs = append(errs, validatePodTemplateSpec(&s.Template, tp)...)
	return append(errs, validateJobRestartPolicy(&s.Template.Spec, tp.Child("spec", "restartPolicy"))...)
}

func validateJob(j *batchv1.Job) field.ErrorList {
	sp := field.NewPath("spec")
	var errs field.ErrorList
	if j.Spec.ManualSelector == nil || !*j.Spec.ManualSelector {
		// The selector must be the one generated from the uid.
		if sel := j.Spec.Selector; sel != nil && sel.MatchLabels["batch.kubernetes.io/controller-uid"] != string(j.UID) {
			errs = append(errs, field.Invalid(sp.Child("selector"), sel, "`selector` not auto-generated"))
		}
	}
	return append(errs, validateJobSpec(&j.Spec, sp, true)...)
}

func validateJobUpdate(j, old *batchv1.Job) field.ErrorList {
	sp := field.NewPath("spec")
	errs := apivalidation.ValidateImmutableField(j.Spec.Selector, old.Spec.Selector, sp.Child("selector"))
	// A suspended job that never started may still change its template.
	neverStarted := old.Spec.Suspend != nil && *old.Spec.Suspend && old.Status.StartTime == nil
	if !neverStarted {
		errs = append(errs, apivalidation.ValidateImmutableField(j.Spec.Template, old.Spec.Template, sp.Child("template"))...)
	}
	errs = append(errs, apivalidation.ValidateImmutableField(j.Spec.CompletionMode, old.Spec.CompletionMode, sp.Child("completionMode"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(j.Spec.PodFailurePolicy, old.Spec.PodFailurePolicy, sp.Child("podFailurePolicy"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(j.Spec.BackoffLimitPerIndex, old.Spec.BackoffLimitPerIndex, sp.Child("backoffLimitPerIndex"))...)
	// Indexed jobs may scale completions together with parallelism.
	elastic := j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion &&
		j.Spec.Completions != nil && j.Spec.Parallelism != nil && *j.Spec.Completions == *j.Spec.Parallelism
	if !elastic {
		errs = append(errs, apivalidation.ValidateImmutableField(j.Spec.Completions, old.Spec.Completions, sp.Child("completions"))...)
	}
	return errs
}

func validateJobStatus(s *batchv1.JobStatus) field.ErrorList {
	errs := nonNegativeCounts(field.NewPath("status"), []string{"active", "succeeded", "failed"}, s.Active, s.Succeeded, s.Failed)
	if s.Ready != nil {
		errs = append(errs, nonNegative(s.Ready, field.NewPath("status", "ready"))...)
	}
	return errs
}

// cronJobNameMax leaves room for the 11-character suffix of the jobs a
// CronJob creates, within a 63-character label value.
const cronJobNameMax = validation.DNS1035LabelMaxLength - 11

func validateCronJobName(c *batchv1.CronJob) field.ErrorList {
	if len(c.Name) > cronJobNameMax {
		return field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), c.Name, fmt.Sprintf("must be no more than %d characters", cronJobNameMax))}
	}
	return nil
}

func validateCronJob(c *batchv1.CronJob) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("spec")
	if c.Spec.Schedule == "" {
		errs = append(errs, field.Required(sp.Child("schedule"), ""))
	} else {
		if err := parseCron(c.Spec.Schedule); err != nil {
			errs = append(errs, field.Invalid(sp.Child("schedule"), c.Spec.Schedule, err.Error()))
		}
		if strings.Contains(c.Spec.Schedule, "TZ") {
			errs = append(errs, field.Invalid(sp.Child("schedule"), c.Spec.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
		}
	}
	if tz := c.Spec.TimeZone; tz != nil {
		if *tz == "" || *tz == "Local" || strings.Contains(*tz, " ") {
			errs = append(errs, field.Invalid(sp.Child("timeZone"), *tz, "unknown time zone "+*tz))
		} else if _, err := time.LoadLocation(*tz); err != nil {
			errs = append(errs, field.Invalid(sp.Child("timeZone"), *tz, err.Error()))
		}
	}
	switch c.Spec.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		errs = append(errs, field.Required(sp.Child("concurrencyPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(sp.Child("concurrencyPolicy"), c.Spec.ConcurrencyPolicy,
			[]batchv1.ConcurrencyPolicy{batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent}))
	}
	if s := c.Spec.StartingDeadlineSeconds; s != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(*s, sp.Child("startingDeadlineSeconds"))...)
	}
	errs = append(errs, nonNegative(c.Spec.SuccessfulJobsHistoryLimit, sp.Child("successfulJobsHistoryLimit"))...)
	errs = append(errs, nonNegative(c.Spec.FailedJobsHistoryLimit, sp.Child("failedJobsHistoryLimit"))...)
	jp := sp.Child("jobTemplate")
	errs = append(errs, metav1validation.ValidateLabels(c.Spec.JobTemplate.Labels, jp.Child("metadata", "labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(c.Spec.JobTemplate.Annotations, jp.Child("metadata", "annotations"))...)
	return append(errs, validateJobSpec(&c.Spec.JobTemplate.Spec, jp.Child("spec"), false)...)
}

func validatePDB(p *policyv1.PodDisruptionBudget) field.ErrorList {
	sp := field.NewPath("spec")
	var errs field.ErrorList
	if p.Spec.MinAvailable != nil && p.Spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(sp, p.Spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	errs = append(errs, validateIntOrPercent(p.Spec.MinAvailable, sp.Child("minAvailable"))...)
	errs = append(errs, validateIntOrPercent(p.Spec.MaxUnavailable, sp.Child("maxUnavailable"))...)
	if p.Spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(p.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, sp.Child("selector"))...)
	}
	if u := p.Spec.UnhealthyPodEvictionPolicy; u != nil && *u != policyv1.IfHealthyBudget && *u != policyv1.AlwaysAllow {
		errs = append(errs, field.NotSupported(sp.Child("unhealthyPodEvictionPolicy"), *u, []policyv1.UnhealthyPodEvictionPolicyType{policyv1.AlwaysAllow, policyv1.IfHealthyBudget}))
	}
	return errs
}

func validatePDBStatus(s *policyv1.PodDisruptionBudgetStatus) field.ErrorList {
	return nonNegativeCounts(field.NewPath("status"), []string{"disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"},
		s.DisruptionsAllowed, s.CurrentHealthy, s.DesiredHealthy, s.ExpectedPods)
}

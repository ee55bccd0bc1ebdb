package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Priority class limits: user classes stay at or below one billion; the
// names starting with "system-" belong to the two classes the server
// creates.
const (
	HighestUserDefinablePriority = int32(1000000000)
	SystemCriticalPriority       = 2 * HighestUserDefinablePriority
	SystemPriorityClassPrefix    = "system-"
	SystemClusterCritical        = SystemPriorityClassPrefix + "cluster-critical"
	SystemNodeCritical           = SystemPriorityClassPrefix + "node-critical"
)

// SystemPriorityClasses returns new copies of the priority classes every
// cluster has, as kube-apiserver creates them at start.
func SystemPriorityClasses() []*schedulingv1.PriorityClass {
	policy := func() *corev1.PreemptionPolicy { p := corev1.PreemptLowerPriority; return &p }
	return []*schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: SystemNodeCritical}, Value: SystemCriticalPriority + 1000, PreemptionPolicy: policy(),
			Description: "Used for system critical pods that must not be moved from their current node."},
		{ObjectMeta: metav1.ObjectMeta{Name: SystemClusterCritical}, Value: SystemCriticalPriority, PreemptionPolicy: policy(),
			Description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."},
	}
}

// knownSystemPriorityClass reports whether name, value and globalDefault
// are exactly those of a system class, and what differs when not.
func knownSystemPriorityClass(name string, value int32, globalDefault bool) error {
	for _, pc := range SystemPriorityClasses() {
		if pc.Name != name {
			continue
		}
		if pc.Value != value {
			return fmt.Errorf("value of %v PriorityClass must be %v", name, pc.Value)
		}
		if pc.GlobalDefault != globalDefault {
			return fmt.Errorf("globalDefault of %v PriorityClass must be %v", name, pc.GlobalDefault)
		}
		return nil
	}
	return fmt.Errorf("%v is not a known system priority class", name)
}

func validatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if strings.HasPrefix(pc.Name, SystemPriorityClassPrefix) {
		if err := knownSystemPriorityClass(pc.Name, pc.Value, pc.GlobalDefault); err != nil {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
				"priority class names with '"+SystemPriorityClassPrefix+"' prefix are reserved for system use only. error: "+err.Error()))
		}
	} else if pc.Value > HighestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"),
			fmt.Sprintf("maximum allowed value of a user defined priority is %v", HighestUserDefinablePriority)))
	}
	if p := pc.PreemptionPolicy; p != nil && *p != corev1.PreemptLowerPriority && *p != corev1.PreemptNever {
		errs = append(errs, field.NotSupported(field.NewPath("preemptionPolicy"), *p,
			[]corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}))
	}
	return errs
}

// validatePriorityClassUpdate: pods carry the value they were admitted
// with, so neither it nor the preemption policy may change.
func validatePriorityClassUpdate(pc, old *schedulingv1.PriorityClass) field.ErrorList {
	var errs field.ErrorList
	if pc.Value != old.Value {
		errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	return append(errs, apivalidation.ValidateImmutableField(pc.PreemptionPolicy, old.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
}

func validateRuntimeClass(rc *nodev1.RuntimeClass) field.ErrorList {
	errs := validateRuntimeClassHandler(rc.Handler)
	if rc.Overhead != nil {
		errs = append(errs, nonNegativeQuantities(rc.Overhead.PodFixed, field.NewPath("overhead", "podFixed"))...)
	}
	if s := rc.Scheduling; s != nil {
		errs = append(errs, metav1validation.ValidateLabels(s.NodeSelector, field.NewPath("scheduling", "nodeSelector"))...)
		errs = append(errs, validateTolerations(s.Tolerations, field.NewPath("scheduling", "tolerations"))...)
	}
	return errs
}

func validateRuntimeClassUpdate(rc, old *nodev1.RuntimeClass) field.ErrorList {
	return apivalidation.ValidateImmutableField(rc.Handler, old.Handler, field.NewPath("handler"))
}

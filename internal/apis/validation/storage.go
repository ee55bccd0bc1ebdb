package validation

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var accessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod}

// validatePVC checks a claim as Kubernetes does: at least one known access
// mode (ReadWriteOncePod alone), a positive storage request unless the
// claim is bound to a named volume, a known volume mode.
func validatePVC(c *corev1.PersistentVolumeClaim) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if len(c.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(spec.Child("accessModes"), "at least 1 access mode is required"))
	}
	seen := map[corev1.PersistentVolumeAccessMode]bool{}
	for i, m := range c.Spec.AccessModes {
		known := false
		for _, k := range accessModes {
			known = known || m == k
		}
		if !known {
			errs = append(errs, field.NotSupported(spec.Child("accessModes").Index(i), m, accessModes))
		}
		seen[m] = true
	}
	if seen[corev1.ReadWriteOncePod] && len(seen) > 1 {
		errs = append(errs, field.Forbidden(spec.Child("accessModes"), "may not use ReadWriteOncePod with other access modes"))
	}
	storage := spec.Child("resources", "requests").Key(string(corev1.ResourceStorage))
	if q, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		if c.Spec.VolumeName == "" {
			errs = append(errs, field.Required(storage, ""))
		}
	} else if q.Sign() <= 0 {
		errs = append(errs, field.Invalid(storage, q.String(), "must be greater than zero"))
	}
	if m := c.Spec.VolumeMode; m != nil && *m != corev1.PersistentVolumeFilesystem && *m != corev1.PersistentVolumeBlock {
		errs = append(errs, field.NotSupported(spec.Child("volumeMode"), *m, []corev1.PersistentVolumeMode{corev1.PersistentVolumeFilesystem, corev1.PersistentVolumeBlock}))
	}
	return errs
}

// validatePVCUpdate: a claim's spec is immutable after creation except its
// storage request (which may grow, for volume expansion) and its volume
// attributes class.
func validatePVCUpdate(c, old *corev1.PersistentVolumeClaim) field.ErrorList {
	a, b := c.Spec.DeepCopy(), old.Spec.DeepCopy()
	a.Resources.Requests, b.Resources.Requests = nil, nil
	a.VolumeAttributesClassName, b.VolumeAttributesClassName = nil, nil
	if old.Spec.VolumeName == "" {
		a.VolumeName, b.VolumeName = "", "" // binding sets it once
	}
	var errs field.ErrorList
	if !equality.Semantic.DeepEqual(a, b) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
	}
	now, was := c.Spec.Resources.Requests[corev1.ResourceStorage], old.Spec.Resources.Requests[corev1.ResourceStorage]
	if now.Cmp(was) < 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than previous value"))
	}
	return errs
}

package validation

import (
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of the storage.k8s.io kinds.
const (
	maxProvisionerParamsSize = 256 * 1024
	maxCSIDriverNameLength   = 63
	maxCSINodeIDLength       = 192
	minTokenExpiration       = 600
	maxTokenExpiration       = 1<<32 - 1
	maxAttachedMessageLength = 1024
	maxAttachedMetadataSize  = 256 * 1024
)

// validateCSIDriverName: a DNS subdomain of at most 63 characters.
func validateCSIDriverName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if len(name) > maxCSIDriverNameLength {
		return field.ErrorList{field.TooLong(p, "", maxCSIDriverNameLength)}
	}
	return invalidMsgs(p, name, utilvalidation.IsDNS1123Subdomain(name))
}

// csiDriverObjectName is the metadata.name rule of CSIDriver objects.
func csiDriverObjectName(name string, prefix bool) []string {
	msgs := apivalidation.NameIsDNSSubdomain(name, prefix)
	if len(name) > maxCSIDriverNameLength {
		msgs = append(msgs, utilvalidation.MaxLenError(maxCSIDriverNameLength))
	}
	return msgs
}

func validateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	pp := field.NewPath("provisioner")
	if sc.Provisioner == "" {
		errs = append(errs, field.Required(pp, ""))
	} else {
		errs = append(errs, validateQualifiedName(sc.Provisioner, pp)...)
	}
	size := 0
	for k, v := range sc.Parameters {
		size += len(k) + len(v)
		if k == "" {
			errs = append(errs, field.Invalid(field.NewPath("parameters"), sc.Parameters, "key may not be empty"))
		}
	}
	if size > maxProvisionerParamsSize {
		errs = append(errs, field.TooLong(field.NewPath("parameters"), "", maxProvisionerParamsSize))
	}
	reclaim := []corev1.PersistentVolumeReclaimPolicy{corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain}
	if r := sc.ReclaimPolicy; r != nil && *r != corev1.PersistentVolumeReclaimDelete && *r != corev1.PersistentVolumeReclaimRetain {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *r, reclaim))
	}
	modes := []storagev1.VolumeBindingMode{storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer}
	if m := sc.VolumeBindingMode; m == nil {
		errs = append(errs, field.Required(field.NewPath("volumeBindingMode"), ""))
	} else if *m != storagev1.VolumeBindingImmediate && *m != storagev1.VolumeBindingWaitForFirstConsumer {
		errs = append(errs, field.NotSupported(field.NewPath("volumeBindingMode"), *m, modes))
	}
	for i, term := range sc.AllowedTopologies {
		tp := field.NewPath("allowedTopologies").Index(i)
		if len(term.MatchLabelExpressions) == 0 {
			errs = append(errs, field.Required(tp.Child("matchLabelExpressions"), "must contain at least one key/value pair"))
		}
		for j, e := range term.MatchLabelExpressions {
			ep := tp.Child("matchLabelExpressions").Index(j)
			errs = append(errs, validateQualifiedName(e.Key, ep.Child("key"))...)
			if len(e.Values) == 0 {
				errs = append(errs, field.Required(ep.Child("values"), "must specify as least one value"))
			}
		}
	}
	return errs
}

// validateStorageClassUpdate: what a class provisions with is fixed once
// volumes may have been made from it.
func validateStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	if !apiequality.Semantic.DeepEqual(sc.Parameters, old.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != old.Provisioner {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if !apiequality.Semantic.DeepEqual(sc.ReclaimPolicy, old.ReclaimPolicy) {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	return append(errs, apivalidation.ValidateImmutableField(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}

func validateCSIDriver(d *storagev1.CSIDriver) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	for name, v := range map[string]*bool{"attachRequired": d.Spec.AttachRequired, "podInfoOnMount": d.Spec.PodInfoOnMount,
		"storageCapacity": d.Spec.StorageCapacity, "requiresRepublish": d.Spec.RequiresRepublish} {
		if v == nil {
			errs = append(errs, field.Required(spec.Child(name), ""))
		}
	}
	policies := []storagev1.FSGroupPolicy{storagev1.FileFSGroupPolicy, storagev1.NoneFSGroupPolicy, storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy}
	if f := d.Spec.FSGroupPolicy; f != nil {
		switch *f {
		case storagev1.FileFSGroupPolicy, storagev1.NoneFSGroupPolicy, storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy:
		default:
			errs = append(errs, field.NotSupported(spec.Child("fsGroupPolicy"), *f, policies))
		}
	}
	modes := []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecycleEphemeral, storagev1.VolumeLifecyclePersistent}
	for i, m := range d.Spec.VolumeLifecycleModes {
		if m != storagev1.VolumeLifecycleEphemeral && m != storagev1.VolumeLifecyclePersistent {
			errs = append(errs, field.NotSupported(spec.Child("volumeLifecycleModes").Index(i), m, modes))
		}
	}
	audiences := map[string]bool{}
	for i, tr := range d.Spec.TokenRequests {
		tp := spec.Child("tokenRequests").Index(i)
		if audiences[tr.Audience] {
			errs = append(errs, field.Duplicate(tp.Child("audience"), tr.Audience))
		}
		audiences[tr.Audience] = true
		if e := tr.ExpirationSeconds; e != nil {
			switch {
			case *e < minTokenExpiration:
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *e, "may not specify a duration less than 10 minutes"))
			case *e > maxTokenExpiration:
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *e, "may not specify a duration larger than 2^32 seconds"))
			}
		}
	}
	return errs
}

func validateCSIDriverUpdate(d, old *storagev1.CSIDriver) field.ErrorList {
	spec := field.NewPath("spec")
	errs := apivalidation.ValidateImmutableField(d.Spec.AttachRequired, old.Spec.AttachRequired, spec.Child("attachRequired"))
	return append(errs, apivalidation.ValidateImmutableField(d.Spec.VolumeLifecycleModes, old.Spec.VolumeLifecycleModes, spec.Child("volumeLifecycleModes"))...)
}

func validateCSINode(n *storagev1.CSINode) field.ErrorList {
	var errs field.ErrorList
	dp := field.NewPath("spec", "drivers")
	seen := map[string]bool{}
	for i, d := range n.Spec.Drivers {
		p := dp.Index(i)
		errs = append(errs, validateCSIDriverName(d.Name, p.Child("name"))...)
		if seen[d.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), d.Name))
		}
		seen[d.Name] = true
		switch {
		case d.NodeID == "":
			errs = append(errs, field.Required(p.Child("nodeID"), ""))
		case len(d.NodeID) > maxCSINodeIDLength:
			errs = append(errs, field.TooLong(p.Child("nodeID"), "", maxCSINodeIDLength))
		}
		for j, k := range d.TopologyKeys {
			errs = append(errs, validateQualifiedName(k, p.Child("topologyKeys").Index(j))...)
		}
		if d.Allocatable != nil && d.Allocatable.Count != nil && *d.Allocatable.Count < 0 {
			errs = append(errs, field.Invalid(p.Child("allocatable", "count"), *d.Allocatable.Count, "must be greater than or equal to 0"))
		}
	}
	return errs
}

// validateCSINodeUpdate: a driver keeps its node ID and topology keys
// while it stays registered.
func validateCSINodeUpdate(n, old *storagev1.CSINode) field.ErrorList {
	var errs field.ErrorList
	prev := map[string]storagev1.CSINodeDriver{}
	for _, d := range old.Spec.Drivers {
		prev[d.Name] = d
	}
	for i, d := range n.Spec.Drivers {
		o, ok := prev[d.Name]
		if !ok {
			continue
		}
		p := field.NewPath("spec", "drivers").Index(i)
		errs = append(errs, apivalidation.ValidateImmutableField(d.NodeID, o.NodeID, p.Child("nodeID"))...)
		errs = append(errs, apivalidation.ValidateImmutableField(d.TopologyKeys, o.TopologyKeys, p.Child("topologyKeys"))...)
	}
	return errs
}

func validateCSIStorageCapacity(c *storagev1.CSIStorageCapacity) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("storageClassName")
	if c.StorageClassName == "" {
		errs = append(errs, field.Required(sp, ""))
	} else {
		errs = append(errs, invalidMsgs(sp, c.StorageClassName, utilvalidation.IsDNS1123Subdomain(c.StorageClassName))...)
	}
	if c.NodeTopology != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(c.NodeTopology, metav1validation.LabelSelectorValidationOptions{}, field.NewPath("nodeTopology"))...)
	}
	if c.Capacity != nil && c.Capacity.Sign() < 0 {
		errs = append(errs, field.Invalid(field.NewPath("capacity"), c.Capacity.String(), "must be greater than or equal to 0"))
	}
	if c.MaximumVolumeSize != nil && c.MaximumVolumeSize.Sign() < 0 {
		errs = append(errs, field.Invalid(field.NewPath("maximumVolumeSize"), c.MaximumVolumeSize.String(), "must be greater than or equal to 0"))
	}
	return errs
}

func validateCSIStorageCapacityUpdate(c, old *storagev1.CSIStorageCapacity) field.ErrorList {
	errs := apivalidation.ValidateImmutableField(c.StorageClassName, old.StorageClassName, field.NewPath("storageClassName"))
	return append(errs, apivalidation.ValidateImmutableField(c.NodeTopology, old.NodeTopology, field.NewPath("nodeTopology"))...)
}

// validateVolumeAttachment: an attacher, a node and exactly one source.
func validateVolumeAttachment(va *storagev1.VolumeAttachment) field.ErrorList {
	spec := field.NewPath("spec")
	errs := validateCSIDriverName(va.Spec.Attacher, spec.Child("attacher"))
	if va.Spec.NodeName == "" {
		errs = append(errs, field.Required(spec.Child("nodeName"), ""))
	} else {
		errs = append(errs, invalidMsgs(spec.Child("nodeName"), va.Spec.NodeName, utilvalidation.IsDNS1123Subdomain(va.Spec.NodeName))...)
	}
	src := va.Spec.Source
	switch {
	case src.PersistentVolumeName == nil && src.InlineVolumeSpec == nil,
		src.PersistentVolumeName != nil && src.InlineVolumeSpec != nil:
		errs = append(errs, field.Required(spec.Child("source"), "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.PersistentVolumeName != nil:
		if *src.PersistentVolumeName == "" {
			errs = append(errs, field.Required(spec.Child("source", "persistentVolumeName"), "must specify non empty persistentVolumeName"))
		} else {
			errs = append(errs, invalidMsgs(spec.Child("source", "persistentVolumeName"), *src.PersistentVolumeName, utilvalidation.IsDNS1123Subdomain(*src.PersistentVolumeName))...)
		}
	}
	return append(errs, validateVolumeAttachmentStatus(&va.Status)...)
}

func validateVolumeAttachmentUpdate(va, old *storagev1.VolumeAttachment) field.ErrorList {
	if !apiequality.Semantic.DeepEqual(va.Spec, old.Spec) {
		return field.ErrorList{field.Invalid(field.NewPath("spec"), va.Spec, "field is immutable")}
	}
	return nil
}

func validateVolumeAttachmentStatus(st *storagev1.VolumeAttachmentStatus) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("status")
	size := 0
	for k, v := range st.AttachmentMetadata {
		size += len(k) + len(v)
	}
	if size > maxAttachedMetadataSize {
		errs = append(errs, field.TooLong(p.Child("attachmentMetadata"), "", maxAttachedMetadataSize))
	}
	for name, e := range map[string]*storagev1.VolumeError{"attachError": st.AttachError, "detachError": st.DetachError} {
		if e != nil && len(e.Message) > maxAttachedMessageLength {
			errs = append(errs, field.TooLong(p.Child(name, "message"), "", maxAttachedMessageLength))
		}
	}
	return errs
}

// validateRuntimeClassHandler: the handler is a DNS label (overhead
// and scheduling are checked in validateRuntimeClass).
func validateRuntimeClassHandler(h string) field.ErrorList {
	return invalidMsgs(field.NewPath("handler"), h, utilvalidation.IsDNS1123Label(h))
}

func nonNegativeQuantities(rl corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, q := range rl {
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(p.Key(string(name)), q.String(), "must be greater than or equal to 0"))
		}
	}
	return errs
}

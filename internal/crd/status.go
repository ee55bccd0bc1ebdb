package crd

import (
	"fmt"
	"slices"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons and messages, as kube-apiserver's naming controller
// writes them.
const (
	ReasonNoConflicts          = "NoConflicts"
	ReasonPluralConflict       = "PluralConflict"
	ReasonSingularConflict     = "SingularConflict"
	ReasonShortNamesConflict   = "ShortNamesConflict"
	ReasonKindConflict         = "KindConflict"
	ReasonListKindConflict     = "ListKindConflict"
	ReasonInitialNamesAccepted = "InitialNamesAccepted"
	ReasonNotAccepted          = "NotAccepted"
)

// ComputeStatus is ComputeStatusAt at the current time.
func ComputeStatus(crd *apiextensionsv1.CustomResourceDefinition, others []*apiextensionsv1.CustomResourceDefinition) apiextensionsv1.CustomResourceDefinitionStatus {
	return ComputeStatusAt(crd, others, time.Now())
}

// ComputeStatusAt returns crd's status given the other CRDs in the cluster
// (crd itself may be among them; it is skipped by name). A name is accepted
// unless another CRD of the same group already serves it: plurals,
// singulars and short names share one namespace, kinds and list kinds
// another. A conflicting name keeps its previously accepted value. Once
// NamesAccepted is True the CRD is Established, and stays so. Conditions
// keep their lastTransitionTime while their status does not change; new
// transitions get now. storedVersions gains the current storage version.
func ComputeStatusAt(crd *apiextensionsv1.CustomResourceDefinition, others []*apiextensionsv1.CustomResourceDefinition, now time.Time) apiextensionsv1.CustomResourceDefinitionStatus {
	status := *crd.Status.DeepCopy()
	spec := crd.Spec.Names

	resources := map[string]bool{}
	kinds := map[string]bool{}
	for _, o := range others {
		if o == nil || o.Name == crd.Name || o.Spec.Group != crd.Spec.Group {
			continue
		}
		n := o.Status.AcceptedNames
		for _, r := range append([]string{n.Plural, n.Singular}, n.ShortNames...) {
			if r != "" {
				resources[r] = true
			}
		}
		for _, k := range []string{n.Kind, n.ListKind} {
			if k != "" {
				kinds[k] = true
			}
		}
	}

	accepted := status.AcceptedNames
	reason, message := "", ""
	conflict := func(r, name string) {
		if reason == "" {
			reason, message = r, fmt.Sprintf("%q is already in use", name)
		}
	}
	if resources[spec.Plural] {
		conflict(ReasonPluralConflict, spec.Plural)
	} else {
		accepted.Plural = spec.Plural
	}
	if spec.Singular != "" && resources[spec.Singular] {
		conflict(ReasonSingularConflict, spec.Singular)
	} else {
		accepted.Singular = spec.Singular
	}
	shortOK := true
	for _, s := range spec.ShortNames {
		if resources[s] {
			conflict(ReasonShortNamesConflict, s)
			shortOK = false
			break
		}
	}
	if shortOK {
		accepted.ShortNames = slices.Clone(spec.ShortNames)
	}
	if kinds[spec.Kind] {
		conflict(ReasonKindConflict, spec.Kind)
	} else {
		accepted.Kind = spec.Kind
	}
	if spec.ListKind != "" && kinds[spec.ListKind] {
		conflict(ReasonListKindConflict, spec.ListKind)
	} else {
		accepted.ListKind = spec.ListKind
	}
	accepted.Categories = slices.Clone(spec.Categories)
	status.AcceptedNames = accepted

	names := apiextensionsv1.CustomResourceDefinitionCondition{
		Type: apiextensionsv1.NamesAccepted, Status: apiextensionsv1.ConditionTrue,
		Reason: ReasonNoConflicts, Message: "no conflicts found",
	}
	if reason != "" {
		names.Status, names.Reason, names.Message = apiextensionsv1.ConditionFalse, reason, message
	}
	setCondition(&status, names, now)

	established := apiextensionsv1.CustomResourceDefinitionCondition{
		Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue,
		Reason: ReasonInitialNamesAccepted, Message: "the initial names have been accepted",
	}
	if old := findCondition(crd.Status.Conditions, apiextensionsv1.Established); old != nil && old.Status == apiextensionsv1.ConditionTrue {
		established = *old
	} else if reason != "" {
		established.Status, established.Reason, established.Message = apiextensionsv1.ConditionFalse, ReasonNotAccepted, "not all names are accepted"
	}
	setCondition(&status, established, now)

	for _, v := range crd.Spec.Versions {
		if v.Storage && !slices.Contains(status.StoredVersions, v.Name) {
			status.StoredVersions = append(status.StoredVersions, v.Name)
		}
	}
	return status
}

func findCondition(conds []apiextensionsv1.CustomResourceDefinitionCondition, t apiextensionsv1.CustomResourceDefinitionConditionType) *apiextensionsv1.CustomResourceDefinitionCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// setCondition replaces or adds c, keeping the old transition time when
// the status is unchanged.
func setCondition(status *apiextensionsv1.CustomResourceDefinitionStatus, c apiextensionsv1.CustomResourceDefinitionCondition, now time.Time) {
	old := findCondition(status.Conditions, c.Type)
	if old != nil && old.Status == c.Status && !old.LastTransitionTime.IsZero() {
		c.LastTransitionTime = old.LastTransitionTime
	} else {
		c.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
	}
	if old != nil {
		*old = c
		return
	}
	status.Conditions = append(status.Conditions, c)
}

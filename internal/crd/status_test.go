package crd

import (
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestComputeStatus(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	other := func(group string, n apiextensionsv1.CustomResourceDefinitionNames) *apiextensionsv1.CustomResourceDefinition {
		c := &apiextensionsv1.CustomResourceDefinition{}
		c.Name = "other-" + n.Plural + "." + group
		c.Spec.Group = group
		c.Status.AcceptedNames = n
		return c
	}
	tests := []struct {
		name       string
		others     []*apiextensionsv1.CustomResourceDefinition
		wantReason string
		wantStatus apiextensionsv1.ConditionStatus
		wantEst    apiextensionsv1.ConditionStatus
		wantPlural string
	}{
		{"no others", nil, ReasonNoConflicts, apiextensionsv1.ConditionTrue, apiextensionsv1.ConditionTrue, "widgets"},
		{"other group does not conflict",
			[]*apiextensionsv1.CustomResourceDefinition{other("other.com", apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"})},
			ReasonNoConflicts, apiextensionsv1.ConditionTrue, apiextensionsv1.ConditionTrue, "widgets"},
		{"plural conflict",
			[]*apiextensionsv1.CustomResourceDefinition{other("example.com", apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Kind: "Gizmo"})},
			ReasonPluralConflict, apiextensionsv1.ConditionFalse, apiextensionsv1.ConditionFalse, ""},
		{"singular conflicts with another plural",
			[]*apiextensionsv1.CustomResourceDefinition{other("example.com", apiextensionsv1.CustomResourceDefinitionNames{Plural: "widget", Kind: "Gizmo"})},
			ReasonSingularConflict, apiextensionsv1.ConditionFalse, apiextensionsv1.ConditionFalse, "widgets"},
		{"short name conflict",
			[]*apiextensionsv1.CustomResourceDefinition{other("example.com", apiextensionsv1.CustomResourceDefinitionNames{Plural: "gizmos", ShortNames: []string{"wd"}, Kind: "Gizmo"})},
			ReasonShortNamesConflict, apiextensionsv1.ConditionFalse, apiextensionsv1.ConditionFalse, "widgets"},
		{"kind conflict",
			[]*apiextensionsv1.CustomResourceDefinition{other("example.com", apiextensionsv1.CustomResourceDefinitionNames{Plural: "gizmos", Kind: "Widget"})},
			ReasonKindConflict, apiextensionsv1.ConditionFalse, apiextensionsv1.ConditionFalse, "widgets"},
		{"listKind conflict",
			[]*apiextensionsv1.CustomResourceDefinition{other("example.com", apiextensionsv1.CustomResourceDefinitionNames{Plural: "gizmos", Kind: "Gizmo", ListKind: "WidgetList"})},
			ReasonListKindConflict, apiextensionsv1.ConditionFalse, apiextensionsv1.ConditionFalse, "widgets"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			crd := mustCRD(t, widgetCRD)
			// The CRD itself in the list must not conflict with itself.
			self := crd.DeepCopy()
			self.Status.AcceptedNames = crd.Spec.Names
			st := ComputeStatusAt(crd, append(tc.others, self), now)
			na := findCondition(st.Conditions, apiextensionsv1.NamesAccepted)
			est := findCondition(st.Conditions, apiextensionsv1.Established)
			if na == nil || est == nil {
				t.Fatalf("conditions missing: %+v", st.Conditions)
			}
			if na.Reason != tc.wantReason || na.Status != tc.wantStatus || est.Status != tc.wantEst {
				t.Fatalf("NamesAccepted=%s/%s (%s) Established=%s", na.Status, na.Reason, na.Message, est.Status)
			}
			if tc.wantEst == apiextensionsv1.ConditionTrue && est.Reason != ReasonInitialNamesAccepted {
				t.Fatalf("Established reason %q", est.Reason)
			}
			if na.Status == apiextensionsv1.ConditionFalse && na.Message == "" {
				t.Fatal("conflict without message")
			}
			if st.AcceptedNames.Plural != tc.wantPlural {
				t.Fatalf("accepted plural %q, want %q", st.AcceptedNames.Plural, tc.wantPlural)
			}
			if !na.LastTransitionTime.Time.Equal(now) {
				t.Fatalf("lastTransitionTime %v", na.LastTransitionTime)
			}
			if len(st.StoredVersions) != 1 || st.StoredVersions[0] != "v1" {
				t.Fatalf("storedVersions %v", st.StoredVersions)
			}
		})
	}
}

func TestComputeStatusKeepsTransitionTimeAndEstablished(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	crd := mustCRD(t, widgetCRD)
	crd.Status = ComputeStatusAt(crd, nil, t0)

	// Unchanged: times stay.
	st := ComputeStatusAt(crd, nil, t0.Add(time.Hour))
	if c := findCondition(st.Conditions, apiextensionsv1.NamesAccepted); !c.LastTransitionTime.Time.Equal(t0) {
		t.Fatalf("transition time moved to %v", c.LastTransitionTime)
	}

	// A later conflict flips NamesAccepted but the CRD stays Established,
	// and the previously accepted names stay.
	crd.Spec.Names.ShortNames = []string{"gz"}
	o := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "gizmos.example.com"}}
	o.Spec.Group = "example.com"
	o.Status.AcceptedNames = apiextensionsv1.CustomResourceDefinitionNames{Plural: "gizmos", ShortNames: []string{"gz"}, Kind: "Gizmo"}
	st = ComputeStatusAt(crd, []*apiextensionsv1.CustomResourceDefinition{o}, t0.Add(2*time.Hour))
	na := findCondition(st.Conditions, apiextensionsv1.NamesAccepted)
	est := findCondition(st.Conditions, apiextensionsv1.Established)
	if na.Status != apiextensionsv1.ConditionFalse || !na.LastTransitionTime.Time.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("NamesAccepted %+v", na)
	}
	if est.Status != apiextensionsv1.ConditionTrue || !est.LastTransitionTime.Time.Equal(t0) {
		t.Fatalf("Established %+v", est)
	}
	if len(st.AcceptedNames.ShortNames) != 1 || st.AcceptedNames.ShortNames[0] != "wd" {
		t.Fatalf("short names %v, want the old accepted [wd]", st.AcceptedNames.ShortNames)
	}

	// A new storage version is appended to storedVersions.
	crd.Status = st
	crd.Spec.Versions[0].Storage = false
	v2 := *crd.Spec.Versions[0].DeepCopy()
	v2.Name, v2.Storage = "v2", true
	crd.Spec.Versions = append(crd.Spec.Versions, v2)
	st = ComputeStatusAt(crd, nil, t0)
	if len(st.StoredVersions) != 2 || st.StoredVersions[1] != "v2" {
		t.Fatalf("storedVersions %v", st.StoredVersions)
	}
}

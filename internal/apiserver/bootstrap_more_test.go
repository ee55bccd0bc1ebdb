package apiserver

import (
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"

	"github.com/kastle-dev/kastle/internal/apis/defaults"
	"github.com/kastle-dev/kastle/internal/apis/validation"
)

func TestReconcileFlowSpec(t *testing.T) {
	changedFS := func(annotation string) *flowcontrolv1.FlowSchema {
		fs := bootstrap.SuggestedFlowSchemaGlobalDefault.DeepCopy()
		fs.Spec.MatchingPrecedence = 42
		if annotation == "" {
			delete(fs.Annotations, flowcontrolv1.AutoUpdateAnnotationKey)
		} else {
			fs.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] = annotation
		}
		return fs
	}
	changedPL := func(name string) *flowcontrolv1.PriorityLevelConfiguration {
		for _, pl := range append(bootstrap.MandatoryPriorityLevelConfigurations, bootstrap.SuggestedPriorityLevelConfigurations...) {
			if pl.Name == name {
				c := pl.DeepCopy()
				if c.Spec.Limited != nil {
					c.Spec.Limited.NominalConcurrencyShares = new(int32)
				} else {
					c.Spec.Exempt.NominalConcurrencyShares = new(int32)
					*c.Spec.Exempt.NominalConcurrencyShares = 7
				}
				return c
			}
		}
		t.Fatalf("no level %s", name)
		return nil
	}
	tests := []struct {
		name      string
		cur, want kruntime.Object
		mandatory bool
		changed   bool
	}{
		{"suggested, autoupdate true", changedFS("true"), bootstrap.SuggestedFlowSchemaGlobalDefault, false, true},
		{"suggested, autoupdate false keeps the operator's spec", changedFS("false"), bootstrap.SuggestedFlowSchemaGlobalDefault, false, false},
		{"suggested, no annotation keeps the spec", changedFS(""), bootstrap.SuggestedFlowSchemaGlobalDefault, false, false},
		{"unchanged", bootstrap.SuggestedFlowSchemaGlobalDefault.DeepCopy(), bootstrap.SuggestedFlowSchemaGlobalDefault, false, false},
		{"mandatory level restored whatever the annotation", func() kruntime.Object {
			pl := changedPL("catch-all")
			pl.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] = "false"
			return pl
		}(), bootstrap.MandatoryPriorityLevelConfigurationCatchAll, true, true},
		{"exempt level shares are the operator's", changedPL("exempt"), bootstrap.MandatoryPriorityLevelConfigurationExempt, true, false},
		{"suggested level", changedPL("workload-low"), bootstrap.SuggestedPriorityLevelConfigurationWorkloadLow, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, changed := reconcileFlowSpec(tt.cur, tt.want, tt.mandatory)
			if changed != tt.changed {
				t.Fatalf("changed = %v, want %v", changed, tt.changed)
			}
			if changed {
				if errs := validation.Validate(next); len(errs) > 0 {
					t.Errorf("reconciled object invalid: %v", errs.ToAggregate())
				}
			}
		})
	}
}

// TestBootstrapFlowObjectsValid checks that every object the server
// creates at start passes defaulting and validation unchanged.
func TestBootstrapFlowObjectsValid(t *testing.T) {
	var objs []kruntime.Object
	objs = append(objs, plObjects(bootstrap.MandatoryPriorityLevelConfigurations)...)
	objs = append(objs, plObjects(bootstrap.SuggestedPriorityLevelConfigurations)...)
	objs = append(objs, fsObjects(bootstrap.MandatoryFlowSchemas)...)
	objs = append(objs, fsObjects(bootstrap.SuggestedFlowSchemas)...)
	for _, pc := range validation.SystemPriorityClasses() {
		objs = append(objs, pc)
	}
	for _, gv := range []schema.GroupVersion{{Version: "v1"}, {Group: "apps", Version: "v1"}, {Group: "example.com", Version: "v1alpha1"}} {
		objs = append(objs, localAPIService(gv, gv.Group == "example.com"))
	}
	for _, o := range objs {
		defaults.Default(o)
		if errs := validation.Validate(o); len(errs) > 0 {
			t.Errorf("%T: %v", o, errs.ToAggregate())
		}
	}
}

func TestLocalAPIService(t *testing.T) {
	tests := []struct {
		gv         schema.GroupVersion
		custom     bool
		name       string
		prio, vers int32
		label      string
	}{
		{schema.GroupVersion{Version: "v1"}, false, "v1.", 18000, 1, "onstart"},
		{schema.GroupVersion{Group: "apps", Version: "v1"}, false, "v1.apps", 17800, 15, "onstart"},
		{schema.GroupVersion{Group: "flowcontrol.apiserver.k8s.io", Version: "v1"}, false, "v1.flowcontrol.apiserver.k8s.io", 16100, 21, "onstart"},
		{schema.GroupVersion{Group: "stable.example.com", Version: "v1beta1"}, true, "v1beta1.stable.example.com", 1000, 100, "true"},
	}
	for _, tt := range tests {
		a := localAPIService(tt.gv, tt.custom)
		if a.Name != tt.name || a.Spec.GroupPriorityMinimum != tt.prio || a.Spec.VersionPriority != tt.vers ||
			a.Labels[automanagedLabel] != tt.label || a.Spec.Service != nil {
			t.Errorf("%v: got %s %+v labels %v", tt.gv, a.Name, a.Spec, a.Labels)
		}
	}
}

func TestDanglingCondition(t *testing.T) {
	levels := map[string]bool{"exempt": true}
	if c := danglingCondition("exempt", levels); c.Status != flowcontrolv1.ConditionFalse || c.Reason != "Found" {
		t.Errorf("existing level: %+v", c)
	}
	if c := danglingCondition("gone", levels); c.Status != flowcontrolv1.ConditionTrue || c.Reason != "NotFound" {
		t.Errorf("missing level: %+v", c)
	}
	fs := &flowcontrolv1.FlowSchema{}
	setFlowCondition(fs, danglingCondition("gone", levels))
	first := fs.Status.Conditions[0].LastTransitionTime
	setFlowCondition(fs, danglingCondition("gone", levels))
	if len(fs.Status.Conditions) != 1 || !fs.Status.Conditions[0].LastTransitionTime.Equal(&first) {
		t.Errorf("same status must keep one condition and its transition time: %+v", fs.Status.Conditions)
	}
	if !hasFlowCondition(fs.Status.Conditions, danglingCondition("gone", levels)) || hasFlowCondition(fs.Status.Conditions, danglingCondition("exempt", levels)) {
		t.Error("hasFlowCondition disagrees with the stored condition")
	}
}

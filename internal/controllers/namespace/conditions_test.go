package namespace

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestConditions(t *testing.T) {
	type want struct {
		status corev1.ConditionStatus
		reason string
		has    string
	}
	for _, tc := range []struct {
		name string
		r    result
		want map[corev1.NamespaceConditionType]want
	}{
		{"all done", result{}, map[corev1.NamespaceConditionType]want{
			corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionFalse, "ResourcesDiscovered", "All resources successfully discovered"},
			corev1.NamespaceDeletionGVParsingFailure: {corev1.ConditionFalse, "ParsedGroupVersions", ""},
			corev1.NamespaceDeletionContentFailure:   {corev1.ConditionFalse, "ContentDeleted", ""},
			corev1.NamespaceContentRemaining:         {corev1.ConditionFalse, "ContentRemoved", "All content successfully removed"},
			corev1.NamespaceFinalizersRemaining:      {corev1.ConditionFalse, "ContentHasNoFinalizers", ""},
		}},
		{"discovery and parsing failed", result{discovery: []string{"metrics.example.com/v1"}, parsing: []string{"a/b/c"}},
			map[corev1.NamespaceConditionType]want{
				corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionTrue, "DiscoveryFailed", "1 failing: metrics.example.com/v1"},
				corev1.NamespaceDeletionGVParsingFailure: {corev1.ConditionTrue, "GroupVersionParsingFailed", "a/b/c"},
				corev1.NamespaceDeletionContentFailure:   {corev1.ConditionFalse, "ContentDeleted", ""},
			}},
		{"deletion failed, content left", result{content: []error{errors.New("deleting pods: boom")},
			remaining: map[string]int{"pods": 2, "widgets.example.com": 1}, finalizers: map[string]int{"example.com/a": 3}},
			map[corev1.NamespaceConditionType]want{
				corev1.NamespaceDeletionContentFailure: {corev1.ConditionTrue, "ContentDeletionFailed", "1 remaining: deleting pods: boom"},
				corev1.NamespaceContentRemaining:       {corev1.ConditionTrue, "SomeResourcesRemain", "pods has 2 resource instances, widgets.example.com has 1 resource instances"},
				corev1.NamespaceFinalizersRemaining:    {corev1.ConditionTrue, "SomeFinalizersRemain", "example.com/a in 3 resource instances"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.conditions()
			if len(got) != 5 {
				t.Fatalf("%d conditions, want the 5 deletion conditions", len(got))
			}
			for _, c := range got {
				w, ok := tc.want[c.Type]
				if !ok {
					continue
				}
				if c.Status != w.status || c.Reason != w.reason || !strings.Contains(c.Message, w.has) {
					t.Errorf("%s: %s %s %q, want %s %s containing %q", c.Type, c.Status, c.Reason, c.Message, w.status, w.reason, w.has)
				}
			}
		})
	}
}

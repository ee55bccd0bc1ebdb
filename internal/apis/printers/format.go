package printers

import (
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/duration"
)

// none is what kubectl shows for an empty cell.
const none = "<none>"

// age renders the time elapsed since ts the way kubectl's AGE column does
// ("5m", "3h10m", "2d"); a zero timestamp is "<unknown>".
func age(ts metav1.Time, now time.Time) string {
	if ts.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(ts.Time))
}

// microAge is age for MicroTime fields (events).
func microAge(ts metav1.MicroTime, now time.Time) string {
	if ts.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(ts.Time))
}

// orNone returns s, or "<none>" when s is empty.
func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// formatLabels renders a label map as sorted k=v pairs, "<none>" when empty.
func formatLabels(m map[string]string) string {
	return labels.FormatLabels(m)
}

// sortedKeys returns the keys of m in ascending order.
func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// joinNonEmpty joins the non-empty strings of parts with sep.
func joinNonEmpty(parts []string, sep string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

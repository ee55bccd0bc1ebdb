package nodelifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLastHeartbeat(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return base.Add(d) }
	node := func(created time.Duration, ready *time.Duration) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(at(created))}}
		if ready != nil {
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.NewTime(at(*ready))}}
		}
		return n
	}
	d := func(x time.Duration) *time.Duration { return &x }
	lease := func(x time.Duration) *metav1.MicroTime { m := metav1.NewMicroTime(at(x)); return &m }
	for _, tc := range []struct {
		name  string
		node  *corev1.Node
		lease *metav1.MicroTime
		want  time.Time
	}{
		{"never reported: creation", node(0, nil), nil, at(0)},
		{"lease newer than status", node(0, d(10*time.Second)), lease(30 * time.Second), at(30 * time.Second)},
		{"status newer than lease", node(0, d(50*time.Second)), lease(30 * time.Second), at(50 * time.Second)},
		{"stale lease of a recreated node", node(time.Minute, nil), lease(30 * time.Second), at(time.Minute)},
	} {
		if got := LastHeartbeat(tc.node, tc.lease); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	n := node(0, nil)
	if hasTaint(n) || readyStatus(n) != "" {
		t.Errorf("fresh node: taint %v ready %q", hasTaint(n), readyStatus(n))
	}
	n.Spec.Taints = []corev1.Taint{{Key: TaintUnreachable, Effect: corev1.TaintEffectNoSchedule}}
	if !hasTaint(n) {
		t.Errorf("unreachable taint not seen")
	}
}

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
}

func TestConditionTaints(t *testing.T) {
	noSchedule := func(key string) corev1.Taint { return corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule} }
	other := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	for _, tc := range []struct {
		name   string
		ready  corev1.ConditionStatus
		taints []corev1.Taint
		want   string
		has    bool
	}{
		{"never reported, tainted at admission", "", []corev1.Taint{noSchedule(corev1.TaintNodeNotReady)}, corev1.TaintNodeNotReady, true},
		{"ready, still tainted", corev1.ConditionTrue, []corev1.Taint{other, noSchedule(corev1.TaintNodeNotReady)}, "", false},
		{"ready, clean", corev1.ConditionTrue, []corev1.Taint{other}, "", true},
		{"not ready", corev1.ConditionFalse, nil, corev1.TaintNodeNotReady, false},
		{"unknown with the not-ready taint", corev1.ConditionUnknown, []corev1.Taint{noSchedule(corev1.TaintNodeNotReady)}, TaintUnreachable, false},
		{"unknown, both", corev1.ConditionUnknown, []corev1.Taint{noSchedule(TaintUnreachable), noSchedule(corev1.TaintNodeNotReady)}, TaintUnreachable, false},
		{"unknown, done", corev1.ConditionUnknown, []corev1.Taint{noSchedule(TaintUnreachable)}, TaintUnreachable, true},
	} {
		n := &corev1.Node{Spec: corev1.NodeSpec{Taints: tc.taints}}
		if tc.ready != "" {
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: tc.ready}}
		}
		want := wantedTaint(n)
		if want != tc.want || hasOnly(n, want) != tc.has {
			t.Errorf("%s: want taint %q (has %v), got %q (has %v)", tc.name, tc.want, tc.has, want, hasOnly(n, want))
		}
	}
}

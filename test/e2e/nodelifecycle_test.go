package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNodeLifecycle: a node whose Lease stops being renewed is marked
// Ready=Unknown and tainted unreachable after the grace period; when it
// reports again the taint goes. Short grace and monitor periods keep the
// test quick.
func TestNodeLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--node-monitor-grace-period", "4s", "--node-monitor-period", "500ms")
	ctx := context.Background()
	admin := s.clientset(t)
	n := s.certClient(t, "system:node:worker", "system:nodes")
	if _, err := n.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready := func() {
		t.Helper()
		node, err := n.CoreV1().Nodes().Get(ctx, "worker", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := metav1.Now()
		node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			LastHeartbeatTime: now, LastTransitionTime: now}}
		if _, err := n.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	renew := func() {
		t.Helper()
		now := metav1.NowMicro()
		holder, secs := "worker", int32(4)
		leases := n.CoordinationV1().Leases("kube-node-lease")
		l, err := leases.Get(ctx, "worker", metav1.GetOptions{})
		if err != nil {
			l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "worker"}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &now}}
			if _, err := leases.Create(ctx, l, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			return
		}
		l.Spec.RenewTime = &now
		if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ready()
	renew()
	state := func() (corev1.ConditionStatus, bool) {
		node, err := admin.CoreV1().Nodes().Get(ctx, "worker", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var st corev1.ConditionStatus
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				st = c.Status
			}
		}
		tainted := false
		for _, tt := range node.Spec.Taints {
			tainted = tainted || tt.Key == "node.kubernetes.io/unreachable"
		}
		return st, tainted
	}
	// While it renews, it stays Ready and untainted.
	for i := 0; i < 6; i++ {
		time.Sleep(time.Second)
		renew()
		if st, tainted := state(); st != corev1.ConditionTrue || tainted {
			t.Fatalf("renewing node: Ready=%s tainted=%v", st, tainted)
		}
	}
	// Silent: Unknown and tainted.
	start := time.Now()
	eventually(t, 15*time.Second, func() string {
		if st, tainted := state(); st != corev1.ConditionUnknown || !tainted {
			return "silent node: Ready=" + string(st)
		}
		return ""
	})
	if d := time.Since(start); d < 3*time.Second {
		t.Errorf("marked Unknown after %v, before the 4s grace period", d)
	}
	// Back: the node reports Ready again and the taint goes.
	renew()
	ready()
	eventually(t, 10*time.Second, func() string {
		if st, tainted := state(); st != corev1.ConditionTrue || tainted {
			return "returning node still tainted"
		}
		return ""
	})
}

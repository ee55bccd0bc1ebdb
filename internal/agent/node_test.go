package agent

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestNewNode(t *testing.T) {
	cfg := &Config{DataDir: "/d", NodeName: "n1", NodeIP: "127.0.0.2", Port: 10250,
		NodeLabels:         map[string]string{"example.com/rack": "7", labelHostname: "spoofed"},
		RegisterWithTaints: []corev1.Taint{{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule}}}
	now := time.Now()
	n := newNode(cfg, now, 10250)
	if n.Name != "n1" || n.Labels[labelHostname] != "n1" || n.Labels[labelOS] != runtime.GOOS || n.Labels[labelArch] != runtime.GOARCH ||
		n.Labels["example.com/rack"] != "7" {
		t.Errorf("labels %v", n.Labels)
	}
	if n.Status.DaemonEndpoints.KubeletEndpoint.Port != 10250 {
		t.Errorf("kubelet endpoint %+v", n.Status.DaemonEndpoints)
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "dedicated" {
		t.Errorf("taints %v", n.Spec.Taints)
	}
	a := n.Status.Addresses
	if len(a) != 2 || a[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.2"}) ||
		a[1] != (corev1.NodeAddress{Type: corev1.NodeHostName, Address: "n1"}) {
		t.Errorf("addresses %v", a)
	}
	if n.Status.Capacity.Cpu().Value() != int64(runtime.NumCPU()) || n.Status.Capacity.Pods().Value() != DefaultMaxPods {
		t.Errorf("capacity %v", n.Status.Capacity)
	}
	if len(n.Status.Conditions) != 1 || n.Status.Conditions[0].Type != corev1.NodeReady ||
		n.Status.Conditions[0].Status != corev1.ConditionTrue || n.Status.Conditions[0].Reason != "KubeletReady" {
		t.Errorf("conditions %+v", n.Status.Conditions)
	}
	// A later status keeps the transition time and moves the heartbeat.
	later := now.Add(time.Minute)
	setStatus(n, cfg, later, 10250)
	c := n.Status.Conditions
	if len(c) != 1 || !c[0].LastHeartbeatTime.Time.Equal(later.Truncate(time.Second)) && !c[0].LastHeartbeatTime.Time.Equal(later) ||
		!c[0].LastTransitionTime.Time.Equal(now) {
		t.Errorf("after an update: %+v", c)
	}
}

func TestMemTotal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "meminfo")
	if err := os.WriteFile(p, []byte("MemFree: 1 kB\nMemTotal:       2048 kB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := memTotal(p); err != nil || got != 2048*1024 {
		t.Errorf("memTotal = %d, %v", got, err)
	}
	if err := os.WriteFile(p, []byte("MemFree: 1 kB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := memTotal(p); err == nil {
		t.Error("no MemTotal accepted")
	}
}

// TestRegisterAndLease against a fake clientset: registration writes the
// status; a second start adopts the Node without touching its labels or
// taints; the Lease is created owned by the Node, then renewed.
func TestRegisterAndLease(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	cfg := &Config{DataDir: "/d", NodeName: "n1", NodeIP: "127.0.0.2",
		RegisterWithTaints: []corev1.Taint{{Key: "t", Effect: corev1.TaintEffectNoSchedule}}}
	if err := cfg.Complete(nil); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	node, err := register(ctx, cs, cfg, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(node.Status.Conditions) != 1 || len(node.Status.Addresses) != 2 || len(node.Spec.Taints) != 1 {
		t.Errorf("registered %+v", node)
	}
	// An operator relabels and untaints the Node; a restart keeps that.
	node.Labels["example.com/by-hand"] = "yes"
	node.Spec.Taints = nil
	node.UID = "uid-1"
	if _, err := cs.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	again, err := register(ctx, cs, cfg, t0.Add(time.Minute), 10250)
	if err != nil {
		t.Fatal(err)
	}
	if again.Labels["example.com/by-hand"] != "yes" || len(again.Spec.Taints) != 0 || again.Status.DaemonEndpoints.KubeletEndpoint.Port != 10250 {
		t.Errorf("re-registered %+v", again)
	}

	if err := renewLease(ctx, cs, cfg, again, t0); err != nil {
		t.Fatal(err)
	}
	l, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *l.Spec.HolderIdentity != "n1" || *l.Spec.LeaseDurationSeconds != DefaultLeaseDurationSeconds ||
		len(l.OwnerReferences) != 1 || l.OwnerReferences[0].Kind != "Node" || l.OwnerReferences[0].UID != "uid-1" {
		t.Errorf("lease %+v %+v", l.Spec, l.OwnerReferences)
	}
	if err := renewLease(ctx, cs, cfg, again, t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	l, _ = cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "n1", metav1.GetOptions{})
	if !l.Spec.RenewTime.Time.After(t0.Add(5 * time.Second)) {
		t.Errorf("lease not renewed: %v", l.Spec.RenewTime)
	}
}

package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// Well-known node labels the agent sets itself.
const (
	labelHostname = "kubernetes.io/hostname"
	labelOS       = "kubernetes.io/os"
	labelArch     = "kubernetes.io/arch"
)

// Version is what the Node reports as its kubelet version.
const Version = "kastle"

// capacity is what the machine offers: CPUs, memory and a pod limit.
func capacity() corev1.ResourceList {
	rl := corev1.ResourceList{
		corev1.ResourceCPU:  *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourcePods: *resource.NewQuantity(DefaultMaxPods, resource.DecimalSI),
	}
	if mem, err := memTotal("/proc/meminfo"); err == nil {
		rl[corev1.ResourceMemory] = *resource.NewQuantity(mem, resource.BinarySI)
	}
	return rl
}

// memTotal reads MemTotal (bytes) from a /proc/meminfo file.
func memTotal(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "MemTotal:" {
			kb, err := strconv.ParseInt(string(f[1]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: MemTotal %q: %w", path, f[1], err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("%s: no MemTotal line", path)
}

// newNode is the Node the agent registers: labels, taints and status.
func newNode(cfg *Config, now time.Time, port int32) *corev1.Node {
	labels := map[string]string{}
	for k, v := range cfg.NodeLabels {
		labels[k] = v
	}
	labels[labelHostname] = cfg.NodeName
	labels[labelOS] = runtime.GOOS
	labels[labelArch] = runtime.GOARCH
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.NodeName, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: append([]corev1.Taint(nil), cfg.RegisterWithTaints...)},
	}
	setStatus(n, cfg, now, port)
	return n
}

// setStatus writes the agent's view of the node into n.Status: addresses,
// capacity, node info, the API's port (0 until it serves) and a Ready
// condition.
func setStatus(n *corev1.Node, cfg *Config, now time.Time, port int32) {
	s := &n.Status
	s.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: cfg.NodeIP},
		{Type: corev1.NodeHostName, Address: cfg.NodeName},
	}
	s.Capacity = capacity()
	s.Allocatable = s.Capacity.DeepCopy()
	s.NodeInfo.OperatingSystem = runtime.GOOS
	s.NodeInfo.Architecture = runtime.GOARCH
	s.NodeInfo.KubeletVersion = Version
	s.DaemonEndpoints.KubeletEndpoint.Port = port
	ts := metav1.NewTime(now)
	ready := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "kastle agent is posting ready status", LastHeartbeatTime: ts, LastTransitionTime: ts,
	}
	for i, c := range s.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == ready.Status {
				ready.LastTransitionTime = c.LastTransitionTime
			}
			s.Conditions[i] = ready
			return
		}
	}
	s.Conditions = append(s.Conditions, ready)
}

// register creates the Node, or adopts the existing one (a restart): its
// labels and taints stay as they are, and the status is rewritten.
func register(ctx context.Context, cs kubernetes.Interface, cfg *Config, now time.Time, port int32) (*corev1.Node, error) {
	var node *corev1.Node
	err := retryTransient(ctx, func() error {
		var err error
		node, err = cs.CoreV1().Nodes().Create(ctx, newNode(cfg, now, port), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			node, err = cs.CoreV1().Nodes().Get(ctx, cfg.NodeName, metav1.GetOptions{})
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("agent: register node %q: %w", cfg.NodeName, err)
	}
	// Create ignores status; write it.
	return updateStatus(ctx, cs, cfg, node, now, port)
}

// updateStatus writes a fresh status onto node (the last version seen,
// or nil to read it), retrying on conflicts.
func updateStatus(ctx context.Context, cs kubernetes.Interface, cfg *Config, node *corev1.Node, now time.Time, port int32) (*corev1.Node, error) {
	var out *corev1.Node
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if node == nil {
			var err error
			if node, err = cs.CoreV1().Nodes().Get(ctx, cfg.NodeName, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		n := node.DeepCopy()
		setStatus(n, cfg, now, port)
		var err error
		out, err = cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		if err != nil {
			node = nil // read again
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("agent: update status of node %q: %w", cfg.NodeName, err)
	}
	return out, nil
}

// renewLease creates or renews kube-node-lease/<node>, owned by the Node
// so that deleting the Node deletes its Lease.
func renewLease(ctx context.Context, cs kubernetes.Interface, cfg *Config, owner *corev1.Node, now time.Time) error {
	leases := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	renew := metav1.NewMicroTime(now)
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur, err := leases.Get(ctx, cfg.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			l := &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: cfg.NodeName, Namespace: corev1.NamespaceNodeLease},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(cfg.NodeName),
					LeaseDurationSeconds: ptr.To(cfg.LeaseDurationSeconds), RenewTime: &renew},
			}
			if owner != nil && owner.UID != "" {
				l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: owner.Name, UID: owner.UID}}
			}
			_, err = leases.Create(ctx, l, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		cur.Spec.HolderIdentity = ptr.To(cfg.NodeName)
		cur.Spec.LeaseDurationSeconds = ptr.To(cfg.LeaseDurationSeconds)
		cur.Spec.RenewTime = &renew
		_, err = leases.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

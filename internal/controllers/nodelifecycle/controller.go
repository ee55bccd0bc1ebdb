package nodelifecycle

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coordinationinformers "k8s.io/client-go/informers/coordination/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Defaults, as kube-controller-manager's.
const (
	DefaultGracePeriod   = 40 * time.Second
	DefaultMonitorPeriod = 5 * time.Second
	// LeaseNamespace holds the nodes' heartbeat Leases.
	LeaseNamespace = corev1.NamespaceNodeLease
	// TaintUnreachable marks a node that stopped reporting.
	TaintUnreachable = corev1.TaintNodeUnreachable
)

// Controller is the node lifecycle controller. Create it with New.
type Controller struct {
	client kubernetes.Interface
	nodes  corelisters.NodeLister
	leases coordinationlisters.LeaseLister
	synced []cache.InformerSynced
	grace  time.Duration
	period time.Duration
	now    func() time.Time
	log    *slog.Logger
}

// New wires the controller to informers on nodes and on the Leases of
// kube-node-lease. grace and period 0 mean the defaults.
func New(client kubernetes.Interface, nodes coreinformers.NodeInformer, leases coordinationinformers.LeaseInformer, grace, period time.Duration, log *slog.Logger) *Controller {
	if grace <= 0 {
		grace = DefaultGracePeriod
	}
	if period <= 0 {
		period = DefaultMonitorPeriod
	}
	return &Controller{client: client, nodes: nodes.Lister(), leases: leases.Lister(), grace: grace, period: period, now: time.Now, log: log,
		synced: []cache.InformerSynced{nodes.Informer().HasSynced, leases.Informer().HasSynced}}
}

// Run monitors every period until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	t := time.NewTicker(c.period)
	defer t.Stop()
	for {
		c.monitor(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// LastHeartbeat is the latest sign of life of node: its Lease's renewal,
// its Ready condition's heartbeat, or, for a node that never reported, its
// creation.
func LastHeartbeat(node *corev1.Node, lease *metav1.MicroTime) time.Time {
	last := node.CreationTimestamp.Time
	if lease != nil && lease.After(last) {
		last = lease.Time
	}
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady && cond.LastHeartbeatTime.After(last) {
			last = cond.LastHeartbeatTime.Time
		}
	}
	return last
}

func (c *Controller) monitor(ctx context.Context) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		c.log.Warn("listing nodes", "err", err)
		return
	}
	now := c.now()
	for _, node := range nodes {
		var renew *metav1.MicroTime
		if l, err := c.leases.Leases(LeaseNamespace).Get(node.Name); err == nil {
			renew = l.Spec.RenewTime
		}
		silent := now.Sub(LastHeartbeat(node, renew)) > c.grace
		var err error
		switch want := wantedTaint(node); {
		case silent && readyStatus(node) != corev1.ConditionUnknown:
			err = c.markUnknown(ctx, node, now)
		case !hasOnly(node, want):
			err = c.setTaint(ctx, node, want)
		}
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			c.log.Warn("updating node", "node", node.Name, "err", err)
		}
	}
}

func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status
		}
	}
	return ""
}

// wantedTaint is the NoSchedule taint the node's Ready condition calls for
// (TaintNodesByCondition): none when Ready, not-ready when not Ready or
// never reported, unreachable when Unknown.
func wantedTaint(node *corev1.Node) string {
	switch readyStatus(node) {
	case corev1.ConditionTrue:
		return ""
	case corev1.ConditionUnknown:
		return TaintUnreachable
	}
	return corev1.TaintNodeNotReady
}

// isConditionTaint tells the NoSchedule taints this controller owns.
func isConditionTaint(t corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule && (t.Key == TaintUnreachable || t.Key == corev1.TaintNodeNotReady)
}

// hasOnly reports whether the node's condition taints are exactly want
// (none when want is "").
func hasOnly(node *corev1.Node, want string) bool {
	found := false
	for _, t := range node.Spec.Taints {
		if !isConditionTaint(t) {
			continue
		}
		if t.Key != want {
			return false
		}
		found = true
	}
	return found == (want != "")
}

// markUnknown sets every condition the node reported to Unknown, as
// Kubernetes does for a node that stopped posting status.
func (c *Controller) markUnknown(ctx context.Context, node *corev1.Node, now time.Time) error {
	out := node.DeepCopy()
	t := metav1.NewTime(now)
	found := false
	for i := range out.Status.Conditions {
		cond := &out.Status.Conditions[i]
		if cond.Type == corev1.NodeReady {
			found = true
		}
		if cond.Status != corev1.ConditionUnknown {
			cond.Status, cond.LastTransitionTime = corev1.ConditionUnknown, t
		}
		cond.Reason, cond.Message = "NodeStatusUnknown", "Kubelet stopped posting node status."
	}
	if !found {
		out.Status.Conditions = append(out.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown,
			Reason: "NodeStatusNeverUpdated", Message: "Kubelet never posted node status.", LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: t})
	}
	updated, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, out, metav1.UpdateOptions{FieldManager: "kastle-nodelifecycle"})
	if err != nil {
		return err
	}
	c.log.Info("node stopped reporting: Ready=Unknown", "node", node.Name)
	if hasOnly(updated, TaintUnreachable) {
		return nil
	}
	return c.setTaint(ctx, updated, TaintUnreachable)
}

// setTaint replaces the node's condition taints with key (none when key
// is "") with a JSON merge patch of spec.taints (optimistic on the
// resourceVersion).
func (c *Controller) setTaint(ctx context.Context, node *corev1.Node, key string) error {
	var taints []corev1.Taint
	for _, t := range node.Spec.Taints {
		if !isConditionTaint(t) {
			taints = append(taints, t)
		}
	}
	if key != "" {
		now := metav1.NewTime(c.now())
		taints = append(taints, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &now})
	}
	patch, err := json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{"resourceVersion": node.ResourceVersion},
		"spec":     map[string]interface{}{"taints": taints},
	})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kastle-nodelifecycle"})
	return err
}

package printers

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func namespaceColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Status", "string", 0, "The status of the namespace"),
		ageColumn(),
	}
}

func printNamespace(ns *corev1.Namespace, now time.Time) []interface{} {
	return []interface{}{ns.Name, string(ns.Status.Phase), age(ns.CreationTimestamp, now)}
}

func configMapColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Data", "string", 0, corev1.ConfigMap{}.SwaggerDoc()["data"]),
		ageColumn(),
	}
}

func printConfigMap(cm *corev1.ConfigMap, now time.Time) []interface{} {
	return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), age(cm.CreationTimestamp, now)}
}

func secretColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Type", "string", 0, corev1.Secret{}.SwaggerDoc()["type"]),
		col("Data", "string", 0, corev1.Secret{}.SwaggerDoc()["data"]),
		ageColumn(),
	}
}

func printSecret(s *corev1.Secret, now time.Time) []interface{} {
	// The server counts stringData too only after merging it into data on
	// write; a stored secret has only data.
	return []interface{}{s.Name, string(s.Type), int64(len(s.Data)), age(s.CreationTimestamp, now)}
}

func serviceAccountColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Secrets", "string", 0, corev1.ServiceAccount{}.SwaggerDoc()["secrets"]),
		ageColumn(),
	}
}

func printServiceAccount(sa *corev1.ServiceAccount, now time.Time) []interface{} {
	return []interface{}{sa.Name, int64(len(sa.Secrets)), age(sa.CreationTimestamp, now)}
}

func nodeColumns() []metav1.TableColumnDefinition {
	info := corev1.NodeSystemInfo{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Status", "string", 0, "The status of the node"),
		col("Roles", "string", 0, "The roles of the node"),
		ageColumn(),
		col("Version", "string", 0, info["kubeletVersion"]),
		col("Internal-IP", "string", 1, corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
		col("External-IP", "string", 1, corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
		col("OS-Image", "string", 1, info["osImage"]),
		col("Kernel-Version", "string", 1, info["kernelVersion"]),
		col("Container-Runtime", "string", 1, info["containerRuntimeVersion"]),
	}
}

// Node role labels: node-role.kubernetes.io/<role> (any value) and the
// legacy kubernetes.io/role=<role>.
const (
	nodeRolePrefix  = "node-role.kubernetes.io/"
	legacyRoleLabel = "kubernetes.io/role"
)

func printNode(n *corev1.Node, now time.Time) []interface{} {
	// Only the Ready condition is summarised, as kubectl does.
	var status []string
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		status = []string{"NotReady"}
		if c.Status == corev1.ConditionTrue {
			status = []string{"Ready"}
		}
	}
	if len(status) == 0 {
		status = []string{"Unknown"}
	}
	if n.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}

	roles := map[string]struct{}{}
	for k, v := range n.Labels {
		if r, ok := strings.CutPrefix(k, nodeRolePrefix); ok && r != "" {
			roles[r] = struct{}{}
		} else if k == legacyRoleLabel && v != "" {
			roles[v] = struct{}{}
		}
	}

	firstAddress := func(t corev1.NodeAddressType) string {
		for _, a := range n.Status.Addresses {
			if a.Type == t {
				return a.Address
			}
		}
		return none
	}
	unknown := func(s string) string {
		if s == "" {
			return "<unknown>"
		}
		return s
	}
	info := n.Status.NodeInfo
	return []interface{}{
		n.Name,
		strings.Join(status, ","),
		orNone(strings.Join(sortedKeys(roles), ",")),
		age(n.CreationTimestamp, now),
		info.KubeletVersion,
		firstAddress(corev1.NodeInternalIP),
		firstAddress(corev1.NodeExternalIP),
		unknown(info.OSImage),
		unknown(info.KernelVersion),
		unknown(info.ContainerRuntimeVersion),
	}
}

func podColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
		col("Status", "string", 0, "The aggregate status of the containers in this pod."),
		col("Restarts", "string", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
		ageColumn(),
		col("IP", "string", 1, corev1.PodStatus{}.SwaggerDoc()["podIP"]),
		col("Node", "string", 1, corev1.PodSpec{}.SwaggerDoc()["nodeName"]),
		col("Nominated Node", "string", 1, corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"]),
		col("Readiness Gates", "string", 1, corev1.PodSpec{}.SwaggerDoc()["readinessGates"]),
	}
}

// nodeUnreachablePodReason is the status reason the node lifecycle
// controller sets on pods of an unreachable node.
const nodeUnreachablePodReason = "NodeLost"

// isSidecar reports whether an init container keeps running (restartPolicy
// Always); such containers count toward READY like regular containers.
func isSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func podConditionTrue(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podStatusSummary computes the READY, STATUS and RESTARTS cells the way
// kubectl presents a pod: the most telling container reason wins over the
// phase, init progress is shown as Init:n/m, deletion as Terminating.
func podStatusSummary(p *corev1.Pod, now time.Time) (ready, reason, restarts string) {
	total := len(p.Spec.Containers)
	readyCount := 0
	restartCount, sidecarRestarts := 0, 0
	var lastRestart, lastSidecarRestart time.Time

	reason = string(p.Status.Phase)
	if p.Status.Reason != "" {
		reason = p.Status.Reason
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			reason = corev1.PodReasonSchedulingGated
		}
	}

	initByName := map[string]*corev1.Container{}
	for i := range p.Spec.InitContainers {
		c := &p.Spec.InitContainers[i]
		initByName[c.Name] = c
		if isSidecar(c) {
			total++
		}
	}
	later := func(cur time.Time, st corev1.ContainerStatus) time.Time {
		if t := st.LastTerminationState.Terminated; t != nil && t.FinishedAt.After(cur) {
			return t.FinishedAt.Time
		}
		return cur
	}

	initializing := false
	for i, st := range p.Status.InitContainerStatuses {
		restartCount += int(st.RestartCount)
		lastRestart = later(lastRestart, st)
		sidecar := isSidecar(initByName[st.Name])
		if sidecar {
			sidecarRestarts += int(st.RestartCount)
			lastSidecarRestart = later(lastSidecarRestart, st)
		}
		term, wait := st.State.Terminated, st.State.Waiting
		if term != nil && term.ExitCode == 0 {
			continue
		}
		if sidecar && st.Started != nil && *st.Started {
			if st.Ready {
				readyCount++
			}
			continue
		}
		initializing = true
		switch {
		case term != nil && term.Reason != "":
			reason = "Init:" + term.Reason
		case term != nil && term.Signal != 0:
			reason = fmt.Sprintf("Init:Signal:%d", term.Signal)
		case term != nil:
			reason = fmt.Sprintf("Init:ExitCode:%d", term.ExitCode)
		case wait != nil && wait.Reason != "" && wait.Reason != "PodInitializing":
			reason = "Init:" + wait.Reason
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(p.Spec.InitContainers))
		}
		break
	}

	if !initializing || podConditionTrue(p, corev1.PodInitialized) {
		restartCount, lastRestart = sidecarRestarts, lastSidecarRestart
		running := false
		// Walk backwards so the first container's reason is the one shown.
		for i := len(p.Status.ContainerStatuses) - 1; i >= 0; i-- {
			st := p.Status.ContainerStatuses[i]
			restartCount += int(st.RestartCount)
			lastRestart = later(lastRestart, st)
			term, wait := st.State.Terminated, st.State.Waiting
			switch {
			case wait != nil && wait.Reason != "":
				reason = wait.Reason
			case term != nil && term.Reason != "":
				reason = term.Reason
			case term != nil && term.Signal != 0:
				reason = fmt.Sprintf("Signal:%d", term.Signal)
			case term != nil:
				reason = fmt.Sprintf("ExitCode:%d", term.ExitCode)
			case st.Ready && st.State.Running != nil:
				running = true
				readyCount++
			}
		}
		if reason == "Completed" && running {
			reason = "NotReady"
			if podConditionTrue(p, corev1.PodReady) {
				reason = "Running"
			}
		}
	}

	terminal := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	switch {
	case p.DeletionTimestamp != nil && p.Status.Reason == nodeUnreachablePodReason:
		reason = "Unknown"
	case p.DeletionTimestamp != nil && !terminal:
		reason = "Terminating"
	}

	restarts = strconv.Itoa(restartCount)
	if restartCount != 0 && !lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", restartCount, age(metav1.NewTime(lastRestart), now))
	}
	return fmt.Sprintf("%d/%d", readyCount, total), reason, restarts
}

func printPod(p *corev1.Pod, now time.Time) []interface{} {
	ready, reason, restarts := podStatusSummary(p, now)
	ip := ""
	if len(p.Status.PodIPs) > 0 {
		ip = p.Status.PodIPs[0].IP
	}
	if ip == "" {
		ip = p.Status.PodIP
	}
	gates := none
	if n := len(p.Spec.ReadinessGates); n > 0 {
		trueCount := 0
		for _, g := range p.Spec.ReadinessGates {
			if podConditionTrue(p, g.ConditionType) {
				trueCount++
			}
		}
		gates = fmt.Sprintf("%d/%d", trueCount, n)
	}
	return []interface{}{
		p.Name, ready, reason, restarts, age(p.CreationTimestamp, now),
		orNone(ip), orNone(p.Spec.NodeName), orNone(p.Status.NominatedNodeName), gates,
	}
}

func serviceColumns() []metav1.TableColumnDefinition {
	spec := corev1.ServiceSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Type", "string", 0, spec["type"]),
		col("Cluster-IP", "string", 0, spec["clusterIP"]),
		col("External-IP", "string", 0, spec["externalIPs"]),
		col("Port(s)", "string", 0, spec["ports"]),
		ageColumn(),
		col("Selector", "string", 1, spec["selector"]),
	}
}

// serviceExternalIP is the EXTERNAL-IP cell: external IPs, load-balancer
// ingress (or <pending> while none is assigned) or the external name.
func serviceExternalIP(s *corev1.Service) string {
	switch s.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		return orNone(strings.Join(s.Spec.ExternalIPs, ","))
	case corev1.ServiceTypeLoadBalancer:
		var all []string
		for _, in := range s.Status.LoadBalancer.Ingress {
			if in.IP != "" {
				all = append(all, in.IP)
			} else if in.Hostname != "" {
				all = append(all, in.Hostname)
			}
		}
		all = append(all, s.Spec.ExternalIPs...)
		if len(all) == 0 {
			return "<pending>"
		}
		return strings.Join(all, ",")
	case corev1.ServiceTypeExternalName:
		return s.Spec.ExternalName
	}
	return "<unknown>"
}

func servicePorts(ports []corev1.ServicePort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			parts[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			parts[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return orNone(strings.Join(parts, ","))
}

func printService(s *corev1.Service, now time.Time) []interface{} {
	return []interface{}{
		s.Name, string(s.Spec.Type), orNone(s.Spec.ClusterIP), serviceExternalIP(s),
		servicePorts(s.Spec.Ports), age(s.CreationTimestamp, now), formatLabels(s.Spec.Selector),
	}
}

func endpointsColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Endpoints", "string", 0, corev1.Endpoints{}.SwaggerDoc()["subsets"]),
		ageColumn(),
	}
}

// formatEndpoints lists up to three ready ip:port pairs, then "+ N more...".
func formatEndpoints(e *corev1.Endpoints) string {
	if len(e.Subsets) == 0 {
		return none
	}
	const max = 3
	var list []string
	count := 0
	add := func(s string) {
		count++
		if len(list) < max {
			list = append(list, s)
		}
	}
	for _, ss := range e.Subsets {
		if len(ss.Ports) == 0 {
			// Headless services may have no ports: show bare addresses.
			for _, a := range ss.Addresses {
				add(a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			for _, a := range ss.Addresses {
				add(net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	out := strings.Join(list, ",")
	if count > max {
		out = fmt.Sprintf("%s + %d more...", out, count-max)
	}
	return out
}

func printEndpoints(e *corev1.Endpoints, now time.Time) []interface{} {
	return []interface{}{e.Name, formatEndpoints(e), age(e.CreationTimestamp, now)}
}

func pvcColumns() []metav1.TableColumnDefinition {
	doc := corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Status", "string", 0, "The phase of the claim"),
		col("Volume", "string", 0, doc["volumeName"]),
		col("Capacity", "string", 0, "The actual resources of the volume"),
		col("Access Modes", "string", 0, doc["accessModes"]),
		col("StorageClass", "string", 0, doc["storageClassName"]),
		col("VolumeAttributesClass", "string", 1, doc["volumeAttributesClassName"]),
		ageColumn(),
		col("VolumeMode", "string", 1, doc["volumeMode"]),
	}
}

func printPVC(c *corev1.PersistentVolumeClaim, now time.Time) []interface{} {
	capacity := ""
	if q, ok := c.Status.Capacity[corev1.ResourceStorage]; ok {
		capacity = q.String()
	}
	modes := make([]string, 0, len(c.Status.AccessModes))
	for _, m := range c.Status.AccessModes {
		modes = append(modes, shortAccessMode(m))
	}
	class, vac, mode := "<unset>", "<unset>", "<unset>"
	if c.Spec.StorageClassName != nil {
		class = *c.Spec.StorageClassName
	}
	if c.Spec.VolumeAttributesClassName != nil {
		vac = *c.Spec.VolumeAttributesClassName
	}
	if c.Spec.VolumeMode != nil {
		mode = string(*c.Spec.VolumeMode)
	}
	return []interface{}{c.Name, string(c.Status.Phase), c.Spec.VolumeName, capacity, strings.Join(modes, ","), class, vac, age(c.CreationTimestamp, now), mode}
}

// shortAccessMode is kubectl's abbreviation (RWO, ROX, RWX, RWOP).
func shortAccessMode(m corev1.PersistentVolumeAccessMode) string {
	switch m {
	case corev1.ReadWriteOnce:
		return "RWO"
	case corev1.ReadOnlyMany:
		return "ROX"
	case corev1.ReadWriteMany:
		return "RWX"
	case corev1.ReadWriteOncePod:
		return "RWOP"
	}
	return string(m)
}

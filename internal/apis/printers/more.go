package printers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kastle-dev/kastle/internal/apis/hpaconv"
)

// forMore returns the printers of the kinds added with issue 8 (core
// limit ranges to policy PDBs), with the columns kubectl shows against
// kube-apiserver 1.32.
func forMore(gk schema.GroupKind) (*Printer, bool) {
	switch gk {
	case schema.GroupKind{Kind: "LimitRange"}:
		return typed(createdAtColumns(), printCreatedAt[*corev1.LimitRange]), true
	case schema.GroupKind{Kind: "PersistentVolume"}:
		return typed(pvColumns(), printPV), true
	case schema.GroupKind{Kind: "PodTemplate"}:
		return typed(podTemplateColumns(), printPodTemplate), true
	case schema.GroupKind{Kind: "ReplicationController"}:
		return typed(rcColumns(), printRC), true
	case schema.GroupKind{Kind: "ResourceQuota"}:
		return typed(quotaColumns(), printQuota), true
	case schema.GroupKind{Kind: "ComponentStatus"}:
		return typed(componentStatusColumns(), printComponentStatus), true
	case schema.GroupKind{Group: "apps", Kind: "ControllerRevision"}:
		return typed(controllerRevisionColumns(), printControllerRevision), true
	case schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}:
		return hpaPrinter(), true
	case schema.GroupKind{Group: "batch", Kind: "Job"}:
		return typed(jobColumns(), printJob), true
	case schema.GroupKind{Group: "batch", Kind: "CronJob"}:
		return typed(cronJobColumns(), printCronJob), true
	case schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}:
		return typed(pdbColumns(), printPDB), true
	}
	return nil, false
}

func pvColumns() []metav1.TableColumnDefinition {
	doc := corev1.PersistentVolumeSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Capacity", "string", 0, doc["capacity"]),
		col("Access Modes", "string", 0, doc["accessModes"]),
		col("Reclaim Policy", "string", 0, doc["persistentVolumeReclaimPolicy"]),
		col("Status", "string", 0, corev1.PersistentVolumeStatus{}.SwaggerDoc()["phase"]),
		col("Claim", "string", 0, doc["claimRef"]),
		col("StorageClass", "string", 0, "StorageClass of the pv"),
		col("VolumeAttributesClass", "string", 0, "VolumeAttributesClass of the pv"),
		col("Reason", "string", 0, corev1.PersistentVolumeStatus{}.SwaggerDoc()["reason"]),
		ageColumn(),
		col("VolumeMode", "string", 1, doc["volumeMode"]),
	}
}

// accessModes lists the modes in kubectl's fixed order, each once.
func accessModes(modes []corev1.PersistentVolumeAccessMode) string {
	has := map[corev1.PersistentVolumeAccessMode]bool{}
	for _, m := range modes {
		has[m] = true
	}
	var out []string
	for _, m := range []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod} {
		if has[m] {
			out = append(out, shortAccessMode(m))
		}
	}
	return strings.Join(out, ",")
}

func printPV(pv *corev1.PersistentVolume, now time.Time) []interface{} {
	claim := ""
	if r := pv.Spec.ClaimRef; r != nil {
		claim = r.Namespace + "/" + r.Name
	}
	capacity := pv.Spec.Capacity[corev1.ResourceStorage]
	phase := string(pv.Status.Phase)
	if pv.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	// The beta annotation still wins over the field, as upstream reads it.
	class, ok := pv.Annotations[corev1.BetaStorageClassAnnotation]
	if !ok {
		class = pv.Spec.StorageClassName
	}
	vac, mode := "<unset>", "<unset>"
	if pv.Spec.VolumeAttributesClassName != nil {
		vac = *pv.Spec.VolumeAttributesClassName
	}
	if pv.Spec.VolumeMode != nil {
		mode = string(*pv.Spec.VolumeMode)
	}
	return []interface{}{pv.Name, capacity.String(), accessModes(pv.Spec.AccessModes), string(pv.Spec.PersistentVolumeReclaimPolicy),
		phase, claim, class, vac, pv.Status.Reason, age(pv.CreationTimestamp, now), mode}
}

func podTemplateColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Containers", "string", 0, containersDoc),
		col("Images", "string", 0, imagesDoc),
		col("Pod Labels", "string", 0, "The labels for the pod template."),
	}
}

func printPodTemplate(pt *corev1.PodTemplate, _ time.Time) []interface{} {
	names, images := containerCells(pt.Template.Spec.Containers)
	return []interface{}{pt.Name, names, images, labels.FormatLabels(pt.Template.Labels)}
}

func rcColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Desired", "integer", 0, corev1.ReplicationControllerSpec{}.SwaggerDoc()["replicas"]),
		col("Current", "integer", 0, corev1.ReplicationControllerStatus{}.SwaggerDoc()["replicas"]),
		col("Ready", "integer", 0, corev1.ReplicationControllerStatus{}.SwaggerDoc()["readyReplicas"]),
		ageColumn(),
		col("Containers", "string", 1, containersDoc),
		col("Images", "string", 1, imagesDoc),
		col("Selector", "string", 1, corev1.ReplicationControllerSpec{}.SwaggerDoc()["selector"]),
	}
}

func printRC(rc *corev1.ReplicationController, now time.Time) []interface{} {
	var names, images string
	if rc.Spec.Template != nil {
		names, images = containerCells(rc.Spec.Template.Spec.Containers)
	}
	return []interface{}{rc.Name, replicas(rc.Spec.Replicas), int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas),
		age(rc.CreationTimestamp, now), names, images, labels.FormatLabels(rc.Spec.Selector)}
}

func quotaColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		ageColumn(),
		col("Request", "string", 0, "Request represents a minimum amount of cpu/memory that a container may consume."),
		col("Limit", "string", 0, "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
	}
}

// printQuota shows used/hard from the quota's status (the quota
// controller fills it): limits.* in LIMIT, everything else in REQUEST.
func printQuota(q *corev1.ResourceQuota, now time.Time) []interface{} {
	names := make([]string, 0, len(q.Status.Hard))
	for n := range q.Status.Hard {
		names = append(names, string(n))
	}
	sort.Strings(names)
	var req, lim []string
	for _, n := range names {
		used, hard := q.Status.Used[corev1.ResourceName(n)], q.Status.Hard[corev1.ResourceName(n)]
		cell := fmt.Sprintf("%s: %s/%s", n, used.String(), hard.String())
		if strings.HasPrefix(n, "limits.") {
			lim = append(lim, cell)
		} else {
			req = append(req, cell)
		}
	}
	return []interface{}{q.Name, age(q.CreationTimestamp, now), strings.Join(req, ", "), strings.Join(lim, ", ")}
}

func componentStatusColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Status", "string", 0, "Status of the component conditions"),
		col("Message", "string", 0, "Message of the component conditions"),
		col("Error", "string", 0, "Error of the component conditions"),
	}
}

func printComponentStatus(cs *corev1.ComponentStatus, _ time.Time) []interface{} {
	status, msg, errText := "Unknown", "", ""
	for _, c := range cs.Conditions {
		if c.Type == corev1.ComponentHealthy {
			status = "Unhealthy"
			if c.Status == corev1.ConditionTrue {
				status = "Healthy"
			}
			msg, errText = c.Message, c.Error
			break
		}
	}
	return []interface{}{cs.Name, status, msg, errText}
}

func controllerRevisionColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Controller", "string", 0, "Controller of the object"),
		col("Revision", "string", 0, appsv1.ControllerRevision{}.SwaggerDoc()["revision"]),
		ageColumn(),
	}
}

func printControllerRevision(cr *appsv1.ControllerRevision, now time.Time) []interface{} {
	controller := none
	if ref := metav1.GetControllerOf(cr); ref != nil {
		gv, _ := schema.ParseGroupVersion(ref.APIVersion)
		gk := gv.WithKind(ref.Kind).GroupKind()
		controller = strings.ToLower(gk.String()) + "/" + ref.Name
	}
	return []interface{}{cr.Name, controller, cr.Revision, age(cr.CreationTimestamp, now)}
}

func hpaColumns() []metav1.TableColumnDefinition {
	spec := autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Reference", "string", 0, spec["scaleTargetRef"]),
		col("Targets", "string", 0, spec["metrics"]),
		col("MinPods", "string", 0, spec["minReplicas"]),
		col("MaxPods", "string", 0, spec["maxReplicas"]),
		col("Replicas", "string", 0, autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]),
		ageColumn(),
	}
}

// hpaPrinter prints both served versions; v1 objects are printed from
// their v2 form so both show the same TARGETS.
func hpaPrinter() *Printer {
	return &Printer{
		Columns: hpaColumns(),
		Row: func(obj runtime.Object, now time.Time) ([]interface{}, error) {
			switch o := obj.(type) {
			case *autoscalingv2.HorizontalPodAutoscaler:
				if o != nil {
					return printHPA(o, now), nil
				}
			case *autoscalingv1.HorizontalPodAutoscaler:
				if o != nil {
					return printHPA(hpaconv.ToV2(o), now), nil
				}
			}
			return nil, fmt.Errorf("printers: expected a HorizontalPodAutoscaler, got %T", obj)
		},
	}
}

func printHPA(h *autoscalingv2.HorizontalPodAutoscaler, now time.Time) []interface{} {
	ref := h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name
	minPods := "<unset>"
	if h.Spec.MinReplicas != nil {
		minPods = fmt.Sprint(*h.Spec.MinReplicas)
	}
	return []interface{}{h.Name, ref, hpaTargets(h.Spec.Metrics, h.Status.CurrentMetrics), minPods,
		int64(h.Spec.MaxReplicas), int64(h.Status.CurrentReplicas), age(h.CreationTimestamp, now)}
}

// qs renders an optional quantity ("" when unset).
func qs(q *resource.Quantity) string {
	if q == nil {
		return ""
	}
	return q.String()
}

// hpaTargets renders "current/target" per metric as kubectl does, two at
// most and "+ N more..." for the rest.
func hpaTargets(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return none
	}
	var list []string
	for i, spec := range specs {
		var st *autoscalingv2.MetricStatus
		if i < len(statuses) {
			st = &statuses[i]
		}
		switch spec.Type {
		case autoscalingv2.ExternalMetricSourceType:
			e := spec.External
			if e != nil && e.Target.AverageValue != nil {
				ok := st != nil && st.External != nil && st.External.Current.AverageValue != nil
				cur := "<unknown>"
				if ok {
					cur = st.External.Current.AverageValue.String()
				}
				list = append(list, fmt.Sprintf("%s/%s (avg)", cur, e.Target.AverageValue.String()))
			} else {
				cur := "<unknown>"
				if st != nil && st.External != nil && st.External.Current.Value != nil {
					cur = st.External.Current.Value.String()
				}
				list = append(list, fmt.Sprintf("%s/%s", cur, qs(targetValue(e))))
			}
		case autoscalingv2.PodsMetricSourceType:
			cur := "<unknown>"
			if st != nil && st.Pods != nil && st.Pods.Current.AverageValue != nil {
				cur = st.Pods.Current.AverageValue.String()
			}
			target := ""
			if spec.Pods != nil && spec.Pods.Target.AverageValue != nil {
				target = spec.Pods.Target.AverageValue.String()
			}
			list = append(list, fmt.Sprintf("%s/%s", cur, target))
		case autoscalingv2.ObjectMetricSourceType:
			o := spec.Object
			if o != nil && o.Target.AverageValue != nil {
				cur := "<unknown>"
				if st != nil && st.Object != nil && st.Object.Current.AverageValue != nil {
					cur = st.Object.Current.AverageValue.String()
				}
				list = append(list, fmt.Sprintf("%s/%s (avg)", cur, o.Target.AverageValue.String()))
			} else {
				cur := "<unknown>"
				if st != nil && st.Object != nil && st.Object.Current.Value != nil {
					cur = st.Object.Current.Value.String()
				}
				list = append(list, fmt.Sprintf("%s/%s", cur, qs(objectTargetValue(o))))
			}
		case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
			var name corev1.ResourceName
			var target autoscalingv2.MetricTarget
			var current *autoscalingv2.MetricValueStatus
			if r := spec.Resource; r != nil {
				name, target = r.Name, r.Target
				if st != nil && st.Resource != nil {
					current = &st.Resource.Current
				}
			} else if r := spec.ContainerResource; r != nil {
				name, target = r.Name, r.Target
				if st != nil && st.ContainerResource != nil {
					current = &st.ContainerResource.Current
				}
			}
			cur := "<unknown>"
			if target.AverageValue != nil {
				if current != nil && current.AverageValue != nil {
					cur = current.AverageValue.String()
				}
				list = append(list, fmt.Sprintf("%s: %s/%s", name, cur, target.AverageValue.String()))
				continue
			}
			if current != nil && current.AverageUtilization != nil {
				cur = fmt.Sprintf("%d%%", *current.AverageUtilization)
			}
			t := "<auto>"
			if target.AverageUtilization != nil {
				t = fmt.Sprintf("%d%%", *target.AverageUtilization)
			}
			list = append(list, fmt.Sprintf("%s: %s/%s", name, cur, t))
		default:
			list = append(list, "<unknown type>")
		}
	}
	const max = 2
	if len(list) > max {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:max], ", "), len(list)-max)
	}
	return strings.Join(list, ", ")
}

func targetValue(e *autoscalingv2.ExternalMetricSource) *resource.Quantity {
	if e == nil {
		return nil
	}
	return e.Target.Value
}

func objectTargetValue(o *autoscalingv2.ObjectMetricSource) *resource.Quantity {
	if o == nil {
		return nil
	}
	return o.Target.Value
}

func jobColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Status", "string", 0, "Status of the job."),
		col("Completions", "string", 0, batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
		col("Duration", "string", 0, "Time required to complete the job."),
		ageColumn(),
		col("Containers", "string", 1, containersDoc),
		col("Images", "string", 1, imagesDoc),
		col("Selector", "string", 1, batchv1.JobSpec{}.SwaggerDoc()["selector"]),
	}
}

func hasJobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func jobStatus(j *batchv1.Job) string {
	switch {
	case hasJobCondition(j, batchv1.JobComplete):
		return "Complete"
	case hasJobCondition(j, batchv1.JobFailed):
		return "Failed"
	case j.DeletionTimestamp != nil:
		return "Terminating"
	case hasJobCondition(j, batchv1.JobSuspended):
		return "Suspended"
	case hasJobCondition(j, batchv1.JobFailureTarget):
		return "FailureTarget"
	case hasJobCondition(j, batchv1.JobSuccessCriteriaMet):
		return "SuccessCriteriaMet"
	}
	return "Running"
}

func printJob(j *batchv1.Job, now time.Time) []interface{} {
	var completions string
	switch {
	case j.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	case j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1:
		completions = fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	default:
		completions = fmt.Sprintf("%d/1", j.Status.Succeeded)
	}
	var dur string
	switch {
	case j.Status.StartTime == nil:
	case j.Status.CompletionTime == nil:
		dur = duration.HumanDuration(now.Sub(j.Status.StartTime.Time))
	default:
		dur = duration.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
	}
	names, images := containerCells(j.Spec.Template.Spec.Containers)
	return []interface{}{j.Name, jobStatus(j), completions, dur, age(j.CreationTimestamp, now),
		names, images, metav1.FormatLabelSelector(j.Spec.Selector)}
}

func cronJobColumns() []metav1.TableColumnDefinition {
	spec := batchv1.CronJobSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Schedule", "string", 0, spec["schedule"]),
		col("Timezone", "string", 0, spec["timeZone"]),
		col("Suspend", "boolean", 0, spec["suspend"]),
		col("Active", "integer", 0, batchv1.CronJobStatus{}.SwaggerDoc()["active"]),
		col("Last Schedule", "string", 0, batchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]),
		ageColumn(),
		col("Containers", "string", 1, containersDoc),
		col("Images", "string", 1, imagesDoc),
		col("Selector", "string", 1, batchv1.JobSpec{}.SwaggerDoc()["selector"]),
	}
}

func boolPtr(b *bool) string {
	switch {
	case b == nil:
		return "<unset>"
	case *b:
		return "True"
	}
	return "False"
}

func printCronJob(c *batchv1.CronJob, now time.Time) []interface{} {
	last := none
	if c.Status.LastScheduleTime != nil {
		last = age(*c.Status.LastScheduleTime, now)
	}
	tz := none
	if c.Spec.TimeZone != nil {
		tz = *c.Spec.TimeZone
	}
	names, images := containerCells(c.Spec.JobTemplate.Spec.Template.Spec.Containers)
	return []interface{}{c.Name, c.Spec.Schedule, tz, boolPtr(c.Spec.Suspend), int64(len(c.Status.Active)), last,
		age(c.CreationTimestamp, now), names, images, metav1.FormatLabelSelector(c.Spec.JobTemplate.Spec.Selector)}
}

func pdbColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Min Available", "string", 0, "The minimum number of pods that must be available."),
		col("Max Unavailable", "string", 0, "The maximum number of pods that may be unavailable."),
		col("Allowed Disruptions", "integer", 0, "Calculated number of pods that may be disrupted at this time."),
		ageColumn(),
	}
}

func printPDB(p *policyv1.PodDisruptionBudget, now time.Time) []interface{} {
	minA, maxU := "N/A", "N/A"
	if p.Spec.MinAvailable != nil {
		minA = p.Spec.MinAvailable.String()
	}
	if p.Spec.MaxUnavailable != nil {
		maxU = p.Spec.MaxUnavailable.String()
	}
	return []interface{}{p.Name, minA, maxU, int64(p.Status.DisruptionsAllowed), age(p.CreationTimestamp, now)}
}

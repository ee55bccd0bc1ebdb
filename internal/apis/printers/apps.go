package printers

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	containersDoc = "Names of each container in the template."
	imagesDoc     = "Images referenced by each container in the template."
)

// containerCells returns the CONTAINERS and IMAGES cells of a pod template.
func containerCells(cs []corev1.Container) (names, images string) {
	n := make([]string, len(cs))
	im := make([]string, len(cs))
	for i, c := range cs {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

// selectorCell renders a label selector as kubectl does ("app=x,tier in (a)").
// An invalid selector is shown as-is rather than failing the whole table.
func selectorCell(s *metav1.LabelSelector) string {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return metav1.FormatLabelSelector(s)
	}
	return sel.String()
}

// replicas dereferences an optional replica count; unset means 1 only after
// defaulting, so an undefaulted nil prints as 0 like the typed zero value.
func replicas(r *int32) int64 {
	if r == nil {
		return 0
	}
	return int64(*r)
}

func deploymentColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Ready", "string", 0, "Number of the pod with ready state"),
		col("Up-to-date", "string", 0, appsv1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]),
		col("Available", "string", 0, appsv1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]),
		ageColumn(),
		col("Containers", "string", 1, containersDoc),
		col("Images", "string", 1, imagesDoc),
		col("Selector", "string", 1, appsv1.DeploymentSpec{}.SwaggerDoc()["selector"]),
	}
}

func printDeployment(d *appsv1.Deployment, now time.Time) []interface{} {
	names, images := containerCells(d.Spec.Template.Spec.Containers)
	return []interface{}{
		d.Name,
		fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas)),
		int64(d.Status.UpdatedReplicas),
		int64(d.Status.AvailableReplicas),
		age(d.CreationTimestamp, now),
		names, images, selectorCell(d.Spec.Selector),
	}
}

func replicaSetColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Desired", "integer", 0, appsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]),
		col("Current", "integer", 0, appsv1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]),
		col("Ready", "integer", 0, appsv1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]),
		ageColumn(),
		col("Containers", "string", 1, containersDoc),
		col("Images", "string", 1, imagesDoc),
		col("Selector", "string", 1, appsv1.ReplicaSetSpec{}.SwaggerDoc()["selector"]),
	}
}

func printReplicaSet(rs *appsv1.ReplicaSet, now time.Time) []interface{} {
	names, images := containerCells(rs.Spec.Template.Spec.Containers)
	return []interface{}{
		rs.Name,
		replicas(rs.Spec.Replicas),
		int64(rs.Status.Replicas),
		int64(rs.Status.ReadyReplicas),
		age(rs.CreationTimestamp, now),
		names, images, selectorCell(rs.Spec.Selector),
	}
}

func statefulSetColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Ready", "string", 0, "Number of the pod with ready state"),
		ageColumn(),
		col("Containers", "string", 1, containersDoc),
		col("Images", "string", 1, imagesDoc),
	}
}

func printStatefulSet(ss *appsv1.StatefulSet, now time.Time) []interface{} {
	names, images := containerCells(ss.Spec.Template.Spec.Containers)
	return []interface{}{
		ss.Name,
		fmt.Sprintf("%d/%d", ss.Status.ReadyReplicas, replicas(ss.Spec.Replicas)),
		age(ss.CreationTimestamp, now),
		names, images,
	}
}

func daemonSetColumns() []metav1.TableColumnDefinition {
	st := appsv1.DaemonSetStatus{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Desired", "integer", 0, st["desiredNumberScheduled"]),
		col("Current", "integer", 0, st["currentNumberScheduled"]),
		col("Ready", "integer", 0, st["numberReady"]),
		col("Up-to-date", "integer", 0, st["updatedNumberScheduled"]),
		col("Available", "integer", 0, st["numberAvailable"]),
		col("Node Selector", "string", 0, corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
		ageColumn(),
		col("Containers", "string", 1, containersDoc),
		col("Images", "string", 1, imagesDoc),
		col("Selector", "string", 1, appsv1.DaemonSetSpec{}.SwaggerDoc()["selector"]),
	}
}

func printDaemonSet(ds *appsv1.DaemonSet, now time.Time) []interface{} {
	names, images := containerCells(ds.Spec.Template.Spec.Containers)
	return []interface{}{
		ds.Name,
		int64(ds.Status.DesiredNumberScheduled),
		int64(ds.Status.CurrentNumberScheduled),
		int64(ds.Status.NumberReady),
		int64(ds.Status.UpdatedNumberScheduled),
		int64(ds.Status.NumberAvailable),
		formatLabels(ds.Spec.Template.Spec.NodeSelector),
		age(ds.CreationTimestamp, now),
		names, images, selectorCell(ds.Spec.Selector),
	}
}

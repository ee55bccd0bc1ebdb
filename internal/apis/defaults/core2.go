package defaults

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// defaultMore applies the defaults of the core, apps, batch, autoscaling
// and policy kinds added after the first set (issue 8). It reports
// whether it knew obj's type.
func defaultMore(obj runtime.Object) bool {
	switch o := obj.(type) {
	case *corev1.ReplicationController:
		if o != nil {
			defaultReplicationController(o)
		}
	case *corev1.PodTemplate:
		if o != nil {
			defaultPodSpec(&o.Template.Spec)
		}
	case *corev1.PersistentVolume:
		if o != nil {
			defaultPersistentVolume(o)
		}
	case *corev1.LimitRange:
		if o != nil {
			for i := range o.Spec.Limits {
				defaultLimitRangeItem(&o.Spec.Limits[i])
			}
		}
	default:
		return defaultBatch(obj) || defaultAutoscaling(obj)
	}
	return true
}

// defaultReplicationController: one replica; selector and labels taken
// from the template's labels when unset.
func defaultReplicationController(rc *corev1.ReplicationController) {
	var tl map[string]string
	if rc.Spec.Template != nil {
		tl = rc.Spec.Template.Labels
		defaultPodSpec(&rc.Spec.Template.Spec)
	}
	if tl != nil {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = copyMap(tl)
		}
		if len(rc.Labels) == 0 {
			rc.Labels = copyMap(tl)
		}
	}
	setIfNil(&rc.Spec.Replicas, 1)
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func defaultPersistentVolume(pv *corev1.PersistentVolume) {
	setIfEmpty(&pv.Status.Phase, corev1.VolumePending)
	setIfEmpty(&pv.Spec.PersistentVolumeReclaimPolicy, corev1.PersistentVolumeReclaimRetain)
	if pv.Spec.VolumeMode == nil {
		m := corev1.PersistentVolumeFilesystem
		pv.Spec.VolumeMode = &m
	}
	if hp := pv.Spec.HostPath; hp != nil && hp.Type == nil {
		t := corev1.HostPathUnset
		hp.Type = &t
	}
}

// defaultLimitRangeItem: for containers, the default limit is the max,
// and the default request is the default limit, else the min.
func defaultLimitRangeItem(it *corev1.LimitRangeItem) {
	if it.Type != corev1.LimitTypeContainer {
		return
	}
	if it.Default == nil {
		it.Default = corev1.ResourceList{}
	}
	if it.DefaultRequest == nil {
		it.DefaultRequest = corev1.ResourceList{}
	}
	for k, v := range it.Max {
		if _, ok := it.Default[k]; !ok {
			it.Default[k] = v.DeepCopy()
		}
	}
	for k, v := range it.Default {
		if _, ok := it.DefaultRequest[k]; !ok {
			it.DefaultRequest[k] = v.DeepCopy()
		}
	}
	for k, v := range it.Min {
		if _, ok := it.DefaultRequest[k]; !ok {
			it.DefaultRequest[k] = v.DeepCopy()
		}
	}
	if len(it.Default) == 0 {
		it.Default = nil
	}
	if len(it.DefaultRequest) == 0 {
		it.DefaultRequest = nil
	}
}

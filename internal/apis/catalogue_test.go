package apis

import (
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestCatalogueRows(t *testing.T) {
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Resources()) != 59 {
		t.Errorf("%d built-in resources, want 59", len(c.Resources()))
	}
	for _, r := range c.Resources() {
		if r.Virtual {
			// Either a create-only review or a read-only computed
			// resource (componentstatuses).
			if !scheme.Recognizes(r.GVK()) || r.HasVerb("create") == r.HasVerb("get") {
				t.Errorf("%s: virtual resource must be a create-only or read-only known kind", r)
			}
			continue
		}
		if !scheme.Recognizes(r.GVK()) || !scheme.Recognizes(r.GroupVersion().WithKind(r.ListKind)) {
			t.Errorf("%s: kind %s or %s not in the scheme", r, r.Kind, r.ListKind)
		}
		obj := r.New()
		if got := obj.GetObjectKind().GroupVersionKind(); got != r.GVK() {
			t.Errorf("%s: New() has kind %v", r, got)
		}
		if got, ok := c.Lookup(r.Group, r.Version, r.Plural); !ok || got != r {
			t.Errorf("%s: Lookup failed", r)
		}
		if r.Columns == nil || r.Row == nil {
			t.Errorf("%s: no table printer", r)
		}
	}
	if _, ok := c.Lookup("", "v1", "widgets"); ok {
		t.Error("Lookup of an unknown resource succeeded")
	}
}

func TestStorageCodecRoundTrip(t *testing.T) {
	scheme, _ := NewScheme()
	ser := NewSerializers(scheme)
	c, _ := NewCatalogue()
	cms, _ := c.Lookup("", "v1", "configmaps")
	codec := ser.StorageCodec(cms)
	in := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "n", ResourceVersion: "42"}, Data: map[string]string{"k": "v"}}
	data, err := codec.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if in.ResourceVersion != "42" {
		t.Error("Encode changed the caller's resourceVersion")
	}
	out, err := codec.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	cm := out.(*corev1.ConfigMap)
	if cm.Data["k"] != "v" || cm.ResourceVersion != "" || cm.Kind != "ConfigMap" || cm.APIVersion != "v1" {
		t.Errorf("round trip: %+v", cm)
	}
	if _, err := codec.Decode([]byte("garbage")); err == nil {
		t.Error("decoding garbage succeeded")
	}

	// Custom resources are kept as JSON.
	gvk := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	cr := &Resource{Group: "example.com", Version: "v1", Kind: "Widget", ListKind: "WidgetList", Plural: "widgets", Custom: true, StorageCodec: "json",
		New:     func() runtime.Object { u := &unstructured.Unstructured{}; u.SetGroupVersionKind(gvk); return u },
		NewList: func() runtime.Object { return &unstructured.UnstructuredList{} }}
	if err := c.SetCustom("widgets.example.com", []*Resource{cr}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Lookup("example.com", "v1", "widgets"); !ok || c.Generation() != 1 {
		t.Error("custom resource not served after SetCustom")
	}
	u := &unstructured.Unstructured{Object: map[string]interface{}{"spec": map[string]interface{}{"size": int64(3)}}}
	u.SetName("w")
	data, err = ser.StorageCodec(cr).Encode(u)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ser.StorageCodec(cr).Decode(data)
	if err != nil || back.(*unstructured.Unstructured).GetName() != "w" {
		t.Errorf("custom round trip: %v %v", back, err)
	}
	_ = c.SetCustom("widgets.example.com", nil)
	if _, ok := c.Lookup("example.com", "v1", "widgets"); ok {
		t.Error("custom resource still served after removal")
	}
}

// TestSchemeConvertsHPAVersions: the scheme converts HorizontalPodAutoscalers
// between v1 and v2 (managed fields rely on it).
func TestSchemeConvertsHPAVersions(t *testing.T) {
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	cpu := int32(60)
	in := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "h"}, Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: &cpu}}
	out, err := scheme.ConvertToVersion(in, autoscalingv2.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	v2, ok := out.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok || v2.Name != "h" || len(v2.Spec.Metrics) != 1 || *v2.Spec.Metrics[0].Resource.Target.AverageUtilization != 60 {
		t.Fatalf("v1 -> v2: %#v", out)
	}
	back, err := scheme.ConvertToVersion(v2, autoscalingv1.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	if v1, ok := back.(*autoscalingv1.HorizontalPodAutoscaler); !ok || *v1.Spec.TargetCPUUtilizationPercentage != 60 || v1.APIVersion != "autoscaling/v1" {
		t.Fatalf("v2 -> v1: %#v", back)
	}
}

// TestPrepareForCreate: jobs get their generated selector and volumes
// start Pending, before defaulting and validation see them.
func TestPrepareForCreate(t *testing.T) {
	c, err := NewCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := c.Lookup("batch", "v1", "jobs")
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: "u1"}}
	jobs.PrepareForCreate(j, nil)
	if j.Spec.Selector == nil || j.Spec.Selector.MatchLabels["batch.kubernetes.io/controller-uid"] != "u1" || j.Spec.Template.Labels["job-name"] != "pi" {
		t.Errorf("job after PrepareForCreate: %+v", j.Spec)
	}
	pvs, _ := c.Lookup("", "v1", "persistentvolumes")
	pv := &corev1.PersistentVolume{Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}}
	pvs.PrepareForCreate(pv, nil)
	if pv.Status.Phase != corev1.VolumePending || pv.Status.LastPhaseTransitionTime == nil {
		t.Errorf("pv status after PrepareForCreate: %+v", pv.Status)
	}
}

// TestVolumePhaseTransition: a phase change through any write records
// its time, unless the writer gave one.
func TestVolumePhaseTransition(t *testing.T) {
	c, _ := NewCatalogue()
	pvs, _ := c.Lookup("", "v1", "persistentvolumes")
	then := metav1.NewTime(metav1.Now().Add(-time.Hour))
	mine := metav1.NewTime(then.Add(time.Minute))
	cases := []struct {
		name      string
		from, to  corev1.PersistentVolumePhase
		given     *metav1.Time
		wantMoved bool
		wantTime  *metav1.Time
	}{
		{"phase changed", corev1.VolumePending, corev1.VolumeAvailable, &then, true, nil},
		{"phase kept", corev1.VolumeBound, corev1.VolumeBound, &then, false, &then},
		{"writer's own time", corev1.VolumeBound, corev1.VolumeReleased, &mine, false, &mine},
	}
	for _, tc := range cases {
		old := &corev1.PersistentVolume{Status: corev1.PersistentVolumeStatus{Phase: tc.from, LastPhaseTransitionTime: &then}}
		pv := &corev1.PersistentVolume{Status: corev1.PersistentVolumeStatus{Phase: tc.to, LastPhaseTransitionTime: tc.given}}
		pvs.PrepareForUpdate(pv, old, "status")
		got := pv.Status.LastPhaseTransitionTime
		moved := got != nil && got.After(then.Add(30*time.Minute)) && !got.Equal(&mine)
		if moved != tc.wantMoved || (tc.wantTime != nil && !got.Equal(tc.wantTime)) {
			t.Errorf("%s: lastPhaseTransitionTime %v", tc.name, got)
		}
	}
}

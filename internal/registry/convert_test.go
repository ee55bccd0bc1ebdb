package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/registry/registrytest"
	"github.com/kastle-dev/kastle/internal/storage"
	"github.com/kastle-dev/kastle/internal/storage/etcd3"
)

type typesOf struct{ tc managedfields.TypeConverter }

func (b typesOf) TypeConverter(*apis.Resource) (managedfields.TypeConverter, error) { return b.tc, nil }

// hpaStores returns the autoscaling/v2 and v1 stores sharing one storage
// kept in v2, as the server assembles them.
func hpaStores(t *testing.T) (v2, v1 *registry.Store) {
	t.Helper()
	scheme, err := apis.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := apis.NewCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := cat.Lookup("autoscaling", "v2", "horizontalpodautoscalers")
	r1, _ := cat.Lookup("autoscaling", "v1", "horizontalpodautoscalers")
	if r2 == nil || r1 == nil || r1.FromStorage == nil || r2.FromStorage != nil {
		t.Fatalf("catalogue rows: %v %v", r2, r1)
	}
	ser := apis.NewSerializers(scheme)
	st := etcd3.New(testClient, ser.StorageCodec(r2), storage.APIObjectVersioner{}, etcd3.WithNewFunc(r2.New))
	fields := registry.NewFieldManagers(scheme, typesOf{applyconfigurations.NewTypeConverter(scheme)})
	mk := func(r *apis.Resource) *registry.Store {
		return &registry.Store{Resource: r, Storage: st, Prefix: "/test/" + t.Name() + "/hpa",
			Admission: registrytest.AdmitAll{}, Fields: fields, Now: time.Now}
	}
	return mk(r2), mk(r1)
}

func TestVersionsShareStorage(t *testing.T) {
	v2, v1 := hpaStores(t)
	ctx := context.Background()
	mem := resource.MustParse("100Mi")
	in := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 4,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &mem}}}}}}
	if _, err := v2.Create(ctx, "ns", in, registry.WriteOptions{FieldManager: "test"}); err != nil {
		t.Fatal(err)
	}
	// Read at v1: converted, the memory metric in the annotation.
	got, err := v1.Get(ctx, "ns", "web", "")
	if err != nil {
		t.Fatal(err)
	}
	h1, ok := got.(*autoscalingv1.HorizontalPodAutoscaler)
	if !ok || h1.Annotations["autoscaling.alpha.kubernetes.io/metrics"] == "" || h1.Spec.TargetCPUUtilizationPercentage != nil {
		t.Fatalf("v1 read: %#v", got)
	}
	// Watch at v1 from here; update at v1; the v2 metric survives.
	w, err := v1.Watch(ctx, "ns", &metav1.ListOptions{ResourceVersion: h1.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	out, err := v1.Update(ctx, "ns", "web", func(cur runtime.Object) (runtime.Object, error) {
		h := cur.(*autoscalingv1.HorizontalPodAutoscaler)
		h.Spec.MaxReplicas = 6
		return h, nil
	}, registry.WriteOptions{FieldManager: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := out.(*autoscalingv1.HorizontalPodAutoscaler); !ok || o.Spec.MaxReplicas != 6 {
		t.Errorf("v1 update returned %#v", out)
	}
	select {
	case ev := <-w.ResultChan():
		if o, ok := ev.Object.(*autoscalingv1.HorizontalPodAutoscaler); ev.Type != storage.Modified || !ok || o.Spec.MaxReplicas != 6 {
			t.Errorf("v1 watch event %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event on the v1 watch")
	}
	back, err := v2.Get(ctx, "ns", "web", "")
	if err != nil {
		t.Fatal(err)
	}
	h2 := back.(*autoscalingv2.HorizontalPodAutoscaler)
	if h2.Spec.MaxReplicas != 6 || len(h2.Spec.Metrics) != 1 || h2.Spec.Metrics[0].Resource.Name != corev1.ResourceMemory || len(h2.Annotations) != 0 {
		t.Errorf("v2 after a v1 update: %+v %v", h2.Spec, h2.Annotations)
	}
	// Dry runs, lists and deletes answer in the served version too.
	dry, err := v1.Update(ctx, "ns", "web", func(cur runtime.Object) (runtime.Object, error) { return cur, nil }, registry.WriteOptions{DryRun: true})
	if _, ok := dry.(*autoscalingv1.HorizontalPodAutoscaler); err != nil || !ok {
		t.Errorf("v1 dry run: %T %v", dry, err)
	}
	list, err := v1.List(ctx, "ns", &metav1.ListOptions{})
	if l, ok := list.(*autoscalingv1.HorizontalPodAutoscalerList); err != nil || !ok || len(l.Items) != 1 || l.Items[0].Spec.MaxReplicas != 6 {
		t.Errorf("v1 list: %#v %v", list, err)
	}
	// Invalid at v1 is reported as the v1 resource's 422.
	_, err = v1.Create(ctx, "ns", &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "bad"}}, registry.WriteOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("invalid v1 create: %v", err)
	}
	del, err := v1.Delete(ctx, "ns", "web", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := del.Object.(*autoscalingv1.HorizontalPodAutoscaler); !ok {
		t.Errorf("v1 delete returned %T", del.Object)
	}
}

func TestEphemeralContainersSubresource(t *testing.T) {
	s := newStore(t, "", "pods")
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
	if _, err := s.Create(ctx, "ns", pod, registry.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	write := func(mutate func(*corev1.Pod)) (*corev1.Pod, error) {
		out, err := s.Update(ctx, "ns", "p", func(cur runtime.Object) (runtime.Object, error) {
			p := cur.(*corev1.Pod)
			mutate(p)
			return p, nil
		}, registry.WriteOptions{Subresource: "ephemeralcontainers"})
		if err != nil {
			return nil, err
		}
		return out.(*corev1.Pod), nil
	}
	debug := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}
	p, err := write(func(p *corev1.Pod) {
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, debug)
		p.Spec.Containers[0].Image = "changed" // not this subresource's
		p.Labels = map[string]string{"sneaky": "yes"}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.EphemeralContainers) != 1 || p.Spec.Containers[0].Image != "nginx" || p.Labels["sneaky"] != "" {
		t.Errorf("ephemeralcontainers write changed more than ephemeral containers: %+v", p)
	}
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
	}{
		{"remove", func(p *corev1.Pod) { p.Spec.EphemeralContainers = nil }},
		{"change", func(p *corev1.Pod) { p.Spec.EphemeralContainers[0].Image = "other" }},
		{"name of a container", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "c", Image: "x"}})
		}},
		{"no image", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "e2"}})
		}},
		{"ports", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "e3", Image: "x", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}})
		}},
	}
	for _, tc := range cases {
		if _, err := write(tc.mutate); !apierrors.IsInvalid(err) {
			t.Errorf("%s: %v, want 422", tc.name, err)
		}
	}
}

// TestConvertedWatchBookmarks: bookmarks of a converting watch are made in
// the served version, not sent through the converter.
func TestConvertedWatchBookmarks(t *testing.T) {
	v2, v1 := hpaStores(t)
	ctx := context.Background()
	in := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 4}}
	if _, err := v2.Create(ctx, "ns", in, registry.WriteOptions{FieldManager: "test"}); err != nil {
		t.Fatal(err)
	}
	send := true
	w, err := v1.Watch(ctx, "ns", &metav1.ListOptions{SendInitialEvents: &send, AllowWatchBookmarks: true, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, want := range []storage.EventType{storage.Added, storage.Bookmark} {
		select {
		case ev := <-w.ResultChan():
			o, ok := ev.Object.(*autoscalingv1.HorizontalPodAutoscaler)
			if ev.Type != want || !ok || o.ResourceVersion == "" {
				t.Fatalf("event %s %#v, want %s of a v1 object", ev.Type, ev.Object, want)
			}
			if want == storage.Bookmark && (o.Name != "" || o.Annotations[metav1.InitialEventsAnnotationKey] != "true") {
				t.Errorf("bookmark %#v", o)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s event", want)
		}
	}
}

// TestFailedConversionFailsReads: a stored object that cannot be converted
// to the served version is a 500 on get and list and an ERROR event that
// ends a watch, never the object in the stored version.
func TestFailedConversionFailsReads(t *testing.T) {
	v2, v1 := hpaStores(t)
	ctx := context.Background()
	in := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 4}}
	created, err := v2.Create(ctx, "ns", in, registry.WriteOptions{FieldManager: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// The catalogue is this test's own: break its v1 converter.
	v1.Resource.FromStorage = func(runtime.Object) (runtime.Object, error) {
		return nil, errors.New("conversion webhook for X failed: down")
	}
	check := func(what string, err error) {
		t.Helper()
		if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "conversion webhook for X failed: down") {
			t.Errorf("%s: %v, want a 500 naming the conversion failure", what, err)
		}
	}
	_, err = v1.Get(ctx, "ns", "web", "")
	check("get", err)
	_, err = v1.List(ctx, "ns", &metav1.ListOptions{})
	check("list", err)
	w, err := v1.Watch(ctx, "ns", &metav1.ListOptions{ResourceVersion: created.(*autoscalingv2.HorizontalPodAutoscaler).ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := v2.Update(ctx, "ns", "web", func(cur runtime.Object) (runtime.Object, error) {
		cur.(*autoscalingv2.HorizontalPodAutoscaler).Spec.MaxReplicas = 5
		return cur, nil
	}, registry.WriteOptions{FieldManager: "test"}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Type != storage.ErrorEvent {
			t.Fatalf("event %s %T, want ERROR", ev.Type, ev.Object)
		}
		check("watch", ev.Err)
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	select {
	case ev, ok := <-w.ResultChan():
		if ok {
			t.Errorf("watch went on after the error: %s", ev.Type)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch not closed after the error")
	}
}

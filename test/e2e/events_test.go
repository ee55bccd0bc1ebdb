package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEventsBothAPIs: an event written through events.k8s.io/v1 is read
// through core/v1 (and back), with each API's field selectors.
func TestEventsBothAPIs(t *testing.T) {
	s := env.shared
	cs := s.clientset(t)
	ctx := context.Background()
	ns := s.namespace(t)
	_, err := cs.EventsV1().Events(ns).Create(ctx, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "new-style"}, EventTime: metav1.NowMicro(),
		ReportingController: "test-controller", ReportingInstance: "i1", Action: "Do", Reason: "Done", Type: "Normal",
		Regarding: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: ns}, Note: "hello",
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	core, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "source=test-controller"})
	if err != nil || len(core.Items) != 1 || core.Items[0].Message != "hello" || core.Items[0].InvolvedObject.Name != "p" {
		t.Fatalf("core view: %+v %v", core, err)
	}
	if _, err := cs.CoreV1().Events(ns).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "old-style"},
		InvolvedObject: corev1.ObjectReference{Namespace: ns},
		Reason:         "Legacy", Message: "about nothing", Type: "Warning", Source: corev1.EventSource{Component: "legacy"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("core event without involvedObject: %v", err)
	}
	ev, err := cs.EventsV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reportingController=test-controller"})
	if err != nil || len(ev.Items) != 1 || ev.Items[0].Name != "new-style" {
		t.Fatalf("events view with selector: %+v %v", ev, err)
	}
	all, err := cs.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(all.Items) != 2 {
		t.Fatalf("events view: %d items, %v", len(all.Items), err)
	}
	mustContain(t, s.mustKubectl(t, "events", "-n", ns), "Done", "hello", "Legacy")
}

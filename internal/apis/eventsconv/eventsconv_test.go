package eventsconv

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRoundTrip(t *testing.T) {
	in := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e", Namespace: "ns", Labels: map[string]string{"a": "b"}},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "ns"},
		Related:        &corev1.ObjectReference{Kind: "Node", Name: "n"},
		Reason:         "Started", Message: "started it", Type: corev1.EventTypeNormal,
		Source:    corev1.EventSource{Component: "kubelet", Host: "n"},
		Count:     3,
		EventTime: metav1.NowMicro(), Action: "Start", ReportingController: "kubelet", ReportingInstance: "n",
		Series: &corev1.EventSeries{Count: 2, LastObservedTime: metav1.NowMicro()},
	}
	ev := ToEvents(in)
	if ev.Note != in.Message || ev.Regarding.Name != "p" || ev.DeprecatedSource.Component != "kubelet" || ev.DeprecatedCount != 3 || ev.Series.Count != 2 {
		t.Fatalf("to events.k8s.io: %+v", ev)
	}
	back := ToCore(ev)
	back.TypeMeta = in.TypeMeta
	if !apiequality.Semantic.DeepEqual(back, in) {
		t.Errorf("round trip:\n%+v\n%+v", back, in)
	}
}

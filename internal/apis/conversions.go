package apis

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apis/eventsconv"
	"github.com/kastle-dev/kastle/internal/apis/hpaconv"
)

// addConversions registers the conversions between versions of a
// built-in kind served at several versions, so that the scheme (and
// through it server-side apply's managed fields, which compare writes in
// the version each manager used) converts them as the stores do.
func addConversions(s *runtime.Scheme) error {
	if err := s.AddConversionFunc((*autoscalingv1.HorizontalPodAutoscaler)(nil), (*autoscalingv2.HorizontalPodAutoscaler)(nil),
		func(a, b interface{}, _ conversion.Scope) error {
			*b.(*autoscalingv2.HorizontalPodAutoscaler) = *hpaconv.ToV2(a.(*autoscalingv1.HorizontalPodAutoscaler))
			return nil
		}); err != nil {
		return err
	}
	if err := s.AddConversionFunc((*autoscalingv2.HorizontalPodAutoscaler)(nil), (*autoscalingv1.HorizontalPodAutoscaler)(nil),
		func(a, b interface{}, _ conversion.Scope) error {
			out, err := hpaconv.ToV1(a.(*autoscalingv2.HorizontalPodAutoscaler))
			if err != nil {
				return err
			}
			*b.(*autoscalingv1.HorizontalPodAutoscaler) = *out
			return nil
		}); err != nil {
		return err
	}
	if err := s.AddConversionFunc((*corev1.Event)(nil), (*eventsv1.Event)(nil), func(a, b interface{}, _ conversion.Scope) error {
		*b.(*eventsv1.Event) = *eventsconv.ToEvents(a.(*corev1.Event))
		return nil
	}); err != nil {
		return err
	}
	return s.AddConversionFunc((*eventsv1.Event)(nil), (*corev1.Event)(nil), func(a, b interface{}, _ conversion.Scope) error {
		*b.(*corev1.Event) = *eventsconv.ToCore(a.(*eventsv1.Event))
		return nil
	})
}

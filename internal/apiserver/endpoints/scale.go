package endpoints

import (
	"encoding/json"
	"net/http"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kastle-dev/kastle/internal/registry"
)

var scaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

func (q *req) scaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	if q.res.Scale == nil {
		return nil, notFoundPath()
	}
	sc, err := q.res.Scale(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	sc.TypeMeta.APIVersion, sc.TypeMeta.Kind = scaleGVK.GroupVersion().String(), scaleGVK.Kind
	return sc, nil
}

func (q *req) writeScale(code int, obj runtime.Object) error {
	sc, err := q.scaleOf(obj)
	if err != nil {
		return err
	}
	return q.encode(code, sc, mustNegotiate(q))
}

func mustNegotiate(q *req) Output {
	out, ok := negotiate(q.r.Header.Get("Accept"), false)
	if !ok || out.As != "" {
		return Output{Media: mediaJSON}
	}
	return out
}

// scaleWrite changes the replicas of the parent object to those of the
// Scale that next computes from the current one.
func (q *req) scaleWrite(wo registry.WriteOptions, next func(cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error)) error {
	if q.res.SetReplicas == nil {
		return notFoundPath()
	}
	wo.Subresource = ""
	out, err := q.store.Update(q.ctx(), q.ns, q.info.Name, func(cur runtime.Object) (runtime.Object, error) {
		sc, err := q.scaleOf(cur)
		if err != nil {
			return nil, err
		}
		want, err := next(sc)
		if err != nil {
			return nil, err
		}
		if want.ResourceVersion != "" && want.ResourceVersion != sc.ResourceVersion {
			return nil, apierrors.NewConflict(q.res.GroupResource(), q.info.Name, errModified)
		}
		if want.Spec.Replicas < 0 {
			return nil, apierrors.NewBadRequest("spec.replicas must be greater than or equal to 0")
		}
		if err := q.res.SetReplicas(cur, want.Spec.Replicas); err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return cur, nil
	}, wo)
	if err != nil {
		return err
	}
	return q.writeScale(http.StatusOK, out)
}

func (q *req) updateScale(wo registry.WriteOptions, validation string) error {
	obj, err := q.decodeBody(scaleGVK, validation)
	if err != nil {
		return err
	}
	want := obj.(*autoscalingv1.Scale)
	return q.scaleWrite(wo, func(*autoscalingv1.Scale) (*autoscalingv1.Scale, error) { return want, nil })
}

func (q *req) patchScale(pt types.PatchType, patch []byte, wo registry.WriteOptions, validation string) error {
	if pt == types.StrategicMergePatchType && q.res.Custom {
		pt = types.MergePatchType
	}
	q.scaleWrite(wo, func(cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
		doc, err := json.Marshal(cur)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		saved := q.res
		patched, err := q.applyScalePatch(pt, doc, patch)
		q.res = saved
		if err != nil {
			return nil, err
		}
		obj, err := q.decodeTyped(patched, scaleGVK, validation)
		if err != nil {
			return nil, err
		}
		return obj.(*autoscalingv1.Scale), nil
	})
	return nil
}

func (q *req) applyScalePatch(pt types.PatchType, doc, patch []byte) ([]byte, error) {
	if pt == types.StrategicMergePatchType {
		pt = types.MergePatchType // Scale has no merge keys: the two agree.
	}
	return q.applyPatch(pt, doc, patch)
}

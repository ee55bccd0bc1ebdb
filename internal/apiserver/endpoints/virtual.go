package endpoints

import (
	"context"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
)

// VirtualReader answers get and list of a read-only resource whose
// objects the server computes instead of storing (componentstatuses).
type VirtualReader interface {
	// Get returns one object; a NotFound error when there is none.
	Get(ctx context.Context, r *apis.Resource, name string) (runtime.Object, error)
	// List returns the resource's list kind with every object.
	List(ctx context.Context, r *apis.Resource) (runtime.Object, error)
}

// readVirtual serves get and list of a read-only computed resource; any
// other verb is 405, as upstream answers.
func (h *Handler) readVirtual(w http.ResponseWriter, r *http.Request, info *request.Info, res *apis.Resource) error {
	if h.Reads == nil || !res.HasVerb(info.Verb) || info.Subresource != "" {
		return apierrors.NewMethodNotSupported(res.GroupResource(), info.Verb)
	}
	q := &req{h: h, w: w, r: r, info: info, res: res}
	if res.Deprecated != "" {
		q.warnings = append(q.warnings, res.Deprecated)
	}
	switch info.Verb {
	case "get":
		obj, err := h.Reads.Get(r.Context(), res, info.Name)
		if err != nil {
			return err
		}
		return q.write(http.StatusOK, obj, false)
	default:
		obj, err := h.Reads.List(r.Context(), res)
		if err != nil {
			return err
		}
		return q.write(http.StatusOK, obj, true)
	}
}

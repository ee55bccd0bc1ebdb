package registry

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/storage"
)

// toAPIError maps a storage error for one object to the status error a
// client expects.
func toAPIError(err error, r *apis.Resource, name string) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(apierrors.APIStatus); ok {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return apierrors.NewTimeoutError(fmt.Sprintf("%s: %v", r, err), 0)
	}
	gr := r.GroupResource()
	switch storage.CodeOf(err) {
	case storage.ErrCodeKeyNotFound:
		return apierrors.NewNotFound(gr, name)
	case storage.ErrCodeKeyExists:
		return apierrors.NewAlreadyExists(gr, name)
	case storage.ErrCodeConflict:
		return apierrors.NewConflict(gr, name, err)
	case storage.ErrCodeResourceVersionTooOld:
		se := apierrors.NewResourceExpired(err.Error())
		var serr *storage.Error
		if errors.As(err, &serr) {
			se.ErrStatus.ListMeta.Continue = serr.Continue
		}
		return se
	case storage.ErrCodeInvalidContinue, storage.ErrCodeInvalidResourceVersion:
		return apierrors.NewBadRequest(err.Error())
	case storage.ErrCodeTimeout:
		return apierrors.NewTimeoutError(err.Error(), 1)
	case storage.ErrCodeUnreachable:
		return apierrors.NewServiceUnavailable(err.Error())
	}
	return apierrors.NewInternalError(err)
}

// invalid wraps validation errors as 422 Invalid for r/name.
func invalid(r *apis.Resource, name string, errs field.ErrorList) error {
	return apierrors.NewInvalid(r.GVK().GroupKind(), name, errs)
}

// conflictModified is the message Kubernetes clients look for on a stale
// update.
func conflictModified(r *apis.Resource, name string) error {
	return apierrors.NewConflict(r.GroupResource(), name,
		fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
}

package status

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FromError converts err to a Status; errors that are not API status
// errors become 500 InternalError.
func FromError(err error) *metav1.Status {
	if errors.Is(err, context.DeadlineExceeded) {
		err = apierrors.NewTimeoutError("the request did not complete within the allowed time", 0)
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		st.Kind, st.APIVersion = "Status", "v1"
		if st.Status == "" {
			st.Status = metav1.StatusFailure
		}
		return &st
	}
	st := apierrors.NewInternalError(err).ErrStatus
	st.Kind, st.APIVersion = "Status", "v1"
	return &st
}

// Write sends err as a JSON Status with its code. Status bodies are always
// JSON: every Kubernetes client decodes them in that form.
func Write(w http.ResponseWriter, err error) {
	WriteStatus(w, FromError(err))
}

// WriteStatus sends st with its code.
func WriteStatus(w http.ResponseWriter, st *metav1.Status) {
	body, err := json.Marshal(st)
	if err != nil {
		http.Error(w, st.Message, int(st.Code))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if st.Details != nil && st.Details.RetryAfterSeconds > 0 {
		h.Set("Retry-After", strconv.Itoa(int(st.Details.RetryAfterSeconds)))
	}
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// Unauthorized is the 401 sent when no credential was accepted.
func Unauthorized() error { return apierrors.NewUnauthorized("Unauthorized") }

package status

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		err    error
		code   int
		reason metav1.StatusReason
	}{
		{apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, "x"), 404, metav1.StatusReasonNotFound},
		{apierrors.NewTooManyRequests("slow down", 1), 429, metav1.StatusReasonTooManyRequests},
		{errors.New("boom"), 500, metav1.StatusReasonInternalError},
		{Unauthorized(), 401, metav1.StatusReasonUnauthorized},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		Write(rec, tt.err)
		if rec.Code != tt.code {
			t.Errorf("%v: code %d, want %d", tt.err, rec.Code, tt.code)
		}
		var st metav1.Status
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
			t.Fatal(err)
		}
		if st.Kind != "Status" || st.APIVersion != "v1" || st.Reason != tt.reason || int(st.Code) != tt.code {
			t.Errorf("%v: body %+v", tt.err, st)
		}
		if tt.code == 429 && rec.Header().Get("Retry-After") != "1" {
			t.Errorf("429 without Retry-After")
		}
	}
}

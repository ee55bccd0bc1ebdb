package e2e

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// TestAuthReviews drives the review APIs through kubectl, which sends
// them as protobuf: auth whoami (SelfSubjectReview) and auth can-i
// (SelfSubjectAccessReview).
func TestAuthReviews(t *testing.T) {
	t.Parallel()
	out := mustKubectl(t, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
	mustContain(t, out, "kubernetes-admin", "system:masters", "system:authenticated")
	if got := strings.TrimSpace(mustKubectl(t, "auth", "can-i", "create", "configmaps", "-n", "default")); got != "yes" {
		t.Errorf("auth can-i create configmaps = %q, want yes", got)
	}
	// --as impersonates: the review then speaks for that user.
	out = mustKubectl(t, "auth", "whoami", "--as", "nobody", "--as-group", "testers", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
	mustContain(t, out, "nobody", "testers", "system:authenticated")
	if strings.Contains(out, "system:masters") {
		t.Errorf("impersonated identity kept the requester's groups: %s", out)
	}
	mustContain(t, mustKubectl(t, "api-resources", "--api-group=authorization.k8s.io"), "selfsubjectaccessreviews", "subjectaccessreviews")
}

// TestReviewNotAcceptableAsTable: reviews have no Table or metadata form;
// asking for one is 406, as upstream.
func TestReviewNotAcceptableAsTable(t *testing.T) {
	cs := env.shared.clientset(t)
	body := []byte(`{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"nonResourceAttributes":{"path":"/","verb":"get"}}}`)
	err := cs.AuthorizationV1().RESTClient().Post().Resource("selfsubjectaccessreviews").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").SetHeader("Content-Type", "application/json").
		Body(body).Do(context.Background()).Error()
	if st, ok := err.(apierrors.APIStatus); !ok || st.Status().Code != 406 {
		t.Fatalf("want 406, got %v", err)
	}
}

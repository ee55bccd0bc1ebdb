package serviceaccount_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"

	saauth "github.com/kastle-dev/kastle/internal/auth/serviceaccount"
	"github.com/kastle-dev/kastle/internal/controllers/controllertest"
	"github.com/kastle-dev/kastle/internal/controllers/serviceaccount"
	"github.com/kastle-dev/kastle/internal/pki"
)

// TestTokens runs the controller alone, signing with the server's
// service-account key: token Secrets are filled with a token the server
// accepts, and go with their ServiceAccount; a Secret naming no account
// is deleted.
func TestTokens(t *testing.T) {
	ctx := context.Background()
	env := controllertest.Start(t)
	client := env.Client()
	key, err := saauth.LoadSigningKeyFile(filepath.Join(env.DataDir(), "pki", pki.ServiceAccountKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := saauth.NewLegacyIssuer(key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(env.DataDir(), "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := serviceaccount.New(client, factory.Core().V1().Secrets(), factory.Core().V1().ServiceAccounts(), issuer, ca,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, factory, func(ctx context.Context) { c.Run(ctx, 2) })

	const ns = "default"
	if _, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tokenSecret := func(name, account string) {
		t.Helper()
		if _, err := client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1.ServiceAccountNameKey: account}},
			Type:       corev1.SecretTypeServiceAccountToken,
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tokenSecret("robot-token", "robot")
	tokenSecret("ghost-token", "ghost")
	var sec *corev1.Secret
	controllertest.Eventually(t, "the token filled in", func() string {
		sec, err = client.CoreV1().Secrets(ns).Get(ctx, "robot-token", metav1.GetOptions{})
		if err != nil || len(sec.Data[corev1.ServiceAccountTokenKey]) == 0 {
			return fmt.Sprint("not yet: ", err)
		}
		return ""
	})
	if string(sec.Data[corev1.ServiceAccountRootCAKey]) != string(ca) || string(sec.Data[corev1.ServiceAccountNamespaceKey]) != ns ||
		sec.Annotations[corev1.ServiceAccountUIDKey] == "" {
		t.Errorf("filled Secret: data keys %v, annotations %v", keys(sec.Data), sec.Annotations)
	}
	review, err := client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: string(sec.Data[corev1.ServiceAccountTokenKey])}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !review.Status.Authenticated || review.Status.User.Username != "system:serviceaccount:default:robot" {
		t.Errorf("token review: %+v", review.Status)
	}
	controllertest.Eventually(t, "the Secret of a missing account deleted", gone(ctx, client.CoreV1().Secrets(ns).Get, "ghost-token"))
	if err := client.CoreV1().ServiceAccounts(ns).Delete(ctx, "robot", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "the Secret deleted with its account", gone(ctx, client.CoreV1().Secrets(ns).Get, "robot-token"))
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func gone(ctx context.Context, get func(context.Context, string, metav1.GetOptions) (*corev1.Secret, error), name string) func() string {
	return func() string {
		if _, err := get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Sprint("still there: ", err)
		}
		return ""
	}
}

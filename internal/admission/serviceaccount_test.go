package admission

import (
	"context"
	"os"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/registry/registrytest"
	"github.com/kastle-dev/kastle/internal/storage/etcdtest"
)

var testClient *clientv3.Client

func TestMain(m *testing.M) { os.Exit(etcdtest.Run(m, &testClient)) }

func TestServiceAccountAdmission(t *testing.T) {
	cat, _ := apis.NewCatalogue()
	pods, _ := cat.Lookup("", "v1", "pods")
	accounts := registrytest.NewStore(t, testClient, "", "serviceaccounts")
	no := false
	for _, sa := range []*corev1.ServiceAccount{
		{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "quiet"}, AutomountServiceAccountToken: &no},
	} {
		if _, err := accounts.Create(context.Background(), "ns", sa, registry.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p := &ServiceAccount{Accounts: accounts}
	pod := func(sa string) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
	}
	admit := func(obj *corev1.Pod) error {
		return p.Admit(context.Background(), &registry.Attributes{Operation: registry.Create, Resource: pods, Namespace: "ns", Name: "p", Object: obj})
	}
	got := pod("")
	if err := admit(got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.ServiceAccountName != "default" || len(got.Spec.Volumes) != 1 || !strings.HasPrefix(got.Spec.Volumes[0].Name, "kube-api-access-") {
		t.Fatalf("pod after admission: %+v", got.Spec)
	}
	if m := got.Spec.Containers[0].VolumeMounts; len(m) != 1 || m[0].MountPath != tokenMountPath || !m[0].ReadOnly {
		t.Errorf("mounts %+v", m)
	}
	src := got.Spec.Volumes[0].Projected.Sources
	if len(src) != 3 || src[0].ServiceAccountToken == nil || src[1].ConfigMap.Name != "kube-root-ca.crt" {
		t.Errorf("projected sources %+v", src)
	}
	quiet := pod("quiet")
	if err := admit(quiet); err != nil || len(quiet.Spec.Volumes) != 0 {
		t.Errorf("automount off in the account: %v %+v", err, quiet.Spec.Volumes)
	}
	if err := admit(pod("ghost")); !apierrors.IsForbidden(err) {
		t.Errorf("missing service account: %v", err)
	}
}

package registry_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/registry/registrytest"
	"github.com/kastle-dev/kastle/internal/storage/etcdtest"
)

var testClient *clientv3.Client

func TestMain(m *testing.M) { os.Exit(etcdtest.Run(m, &testClient)) }

func newStore(t *testing.T, group, plural string) *registry.Store {
	return registrytest.NewStore(t, testClient, group, plural)
}

func configMap(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}
}

func TestCreate(t *testing.T) {
	s := newStore(t, "", "configmaps")
	ctx := context.Background()
	out, err := s.Create(ctx, "ns", configMap("a", map[string]string{"k": "v"}), registry.WriteOptions{FieldManager: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cm := out.(*corev1.ConfigMap)
	if cm.UID == "" || cm.CreationTimestamp.IsZero() || cm.ResourceVersion == "" || cm.Namespace != "ns" {
		t.Errorf("system metadata not set: %+v", cm.ObjectMeta)
	}
	if len(cm.ManagedFields) != 1 || cm.ManagedFields[0].Manager != "test" {
		t.Errorf("managedFields = %+v", cm.ManagedFields)
	}
	tests := []struct {
		name string
		obj  *corev1.ConfigMap
		ns   string
		code int32
	}{
		{"exists", configMap("a", nil), "ns", 409},
		{"namespace mismatch", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "other"}}, "ns", 400},
		{"invalid name", configMap("Not_Valid", nil), "ns", 422},
		{"no name", configMap("", nil), "ns", 422},
		{"bad key", configMap("c", map[string]string{"no/slash": "v"}), "ns", 422},
	}
	for _, tt := range tests {
		_, err := s.Create(ctx, tt.ns, tt.obj, registry.WriteOptions{FieldManager: "test"})
		if code := apiCode(err); code != tt.code {
			t.Errorf("%s: code %d (%v), want %d", tt.name, code, err, tt.code)
		}
	}
	gen := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}}
	out, err = s.Create(ctx, "ns", gen, registry.WriteOptions{})
	if err != nil || len(out.(*corev1.ConfigMap).Name) != len("gen-")+5 {
		t.Errorf("generateName: %v %v", out, err)
	}
	if _, err := s.Create(ctx, "ns", configMap("dry", nil), registry.WriteOptions{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "ns", "dry", ""); !apierrors.IsNotFound(err) {
		t.Errorf("dry-run create was stored: %v", err)
	}
}

func apiCode(err error) int32 {
	if st, ok := err.(apierrors.APIStatus); ok {
		return st.Status().Code
	}
	return 0
}

func TestUpdateConflictAndGeneration(t *testing.T) {
	s := newStore(t, "apps", "deployments")
	ctx := context.Background()
	one := int32(1)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "d"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "d"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "d"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			},
		},
		Status: appsv1.DeploymentStatus{Replicas: 7},
	}
	out, err := s.Create(ctx, "ns", d, registry.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created := out.(*appsv1.Deployment)
	if created.Generation != 1 || created.Status.Replicas != 0 {
		t.Errorf("create: generation %d, status %+v (status must be dropped)", created.Generation, created.Status)
	}
	// A label change keeps the generation; a spec change bumps it.
	upd := func(f func(*appsv1.Deployment), sub string) (*appsv1.Deployment, error) {
		o, err := s.Update(ctx, "ns", "d", func(cur runtime.Object) (runtime.Object, error) {
			c := cur.(*appsv1.Deployment)
			f(c)
			return c, nil
		}, registry.WriteOptions{Subresource: sub})
		if err != nil {
			return nil, err
		}
		return o.(*appsv1.Deployment), nil
	}
	got, err := upd(func(c *appsv1.Deployment) { c.Labels = map[string]string{"x": "y"} }, "")
	if err != nil || got.Generation != 1 {
		t.Fatalf("label update: %v generation %d", err, got.Generation)
	}
	three := int32(3)
	got, err = upd(func(c *appsv1.Deployment) { c.Spec.Replicas = &three; c.Status.Replicas = 9 }, "")
	if err != nil || got.Generation != 2 || got.Status.Replicas != 0 {
		t.Fatalf("spec update: %v generation %d status %d", err, got.Generation, got.Status.Replicas)
	}
	got, err = upd(func(c *appsv1.Deployment) { c.Status.Replicas = 3; c.Spec.Replicas = &one }, "status")
	if err != nil || got.Status.Replicas != 3 || *got.Spec.Replicas != 3 || got.Generation != 2 {
		t.Fatalf("status update: %v status %d spec %d gen %d", err, got.Status.Replicas, *got.Spec.Replicas, got.Generation)
	}
	// A stale resourceVersion is a conflict.
	_, err = upd(func(c *appsv1.Deployment) { c.ResourceVersion = created.ResourceVersion }, "")
	if !apierrors.IsConflict(err) {
		t.Errorf("stale update: %v, want 409", err)
	}
}

func TestDeleteWithFinalizers(t *testing.T) {
	s := newStore(t, "", "configmaps")
	ctx := context.Background()
	cm := configMap("f", nil)
	cm.Finalizers = []string{"example.com/hold"}
	out, err := s.Create(ctx, "ns", cm, registry.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wrong := types.UID("not-the-uid")
	if _, err := s.Delete(ctx, "ns", "f", &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &wrong}}, false); !apierrors.IsConflict(err) {
		t.Errorf("delete with wrong uid: %v, want 409", err)
	}
	res, err := s.Delete(ctx, "ns", "f", nil, false)
	if err != nil || res.Immediate || res.Object.(*corev1.ConfigMap).DeletionTimestamp == nil {
		t.Fatalf("delete with finalizer: %+v %v", res, err)
	}
	_, err = s.Update(ctx, "ns", "f", func(cur runtime.Object) (runtime.Object, error) {
		c := cur.(*corev1.ConfigMap)
		c.Finalizers = append(c.Finalizers, "example.com/more")
		return c, nil
	}, registry.WriteOptions{})
	if apiCode(err) != 422 {
		t.Errorf("adding a finalizer while deleting: %v, want 422", err)
	}
	_, err = s.Update(ctx, "ns", "f", func(cur runtime.Object) (runtime.Object, error) {
		c := cur.(*corev1.ConfigMap)
		c.Finalizers = nil
		return c, nil
	}, registry.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "ns", "f", ""); !apierrors.IsNotFound(err) {
		t.Errorf("object still there after its last finalizer went: %v", err)
	}
	_ = out
}

func TestListSelectorsAndPages(t *testing.T) {
	s := newStore(t, "", "secrets")
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s%d", i), Labels: map[string]string{"even": fmt.Sprint(i%2 == 0)}}}
		if i == 3 {
			sec.Type = corev1.SecretTypeDockerConfigJson
			sec.Data = map[string][]byte{".dockerconfigjson": []byte(`{}`)}
		}
		if _, err := s.Create(ctx, "ns", sec, registry.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(opts metav1.ListOptions) (int, error) {
		l, err := s.List(ctx, "ns", &opts)
		if err != nil {
			return 0, err
		}
		return len(l.(*corev1.SecretList).Items), nil
	}
	tests := []struct {
		opts metav1.ListOptions
		want int
		code int32
	}{
		{metav1.ListOptions{}, 7, 0},
		{metav1.ListOptions{LabelSelector: "even=true"}, 4, 0},
		{metav1.ListOptions{FieldSelector: "type=kubernetes.io/dockerconfigjson"}, 1, 0},
		{metav1.ListOptions{FieldSelector: "metadata.name=s5"}, 1, 0},
		{metav1.ListOptions{FieldSelector: "spec.nodeName=x"}, 0, 400},
		{metav1.ListOptions{LabelSelector: "=="}, 0, 400},
		{metav1.ListOptions{ResourceVersionMatch: "Exact"}, 0, 400},
	}
	for _, tt := range tests {
		n, err := count(tt.opts)
		if apiCode(err) != tt.code || (err == nil && n != tt.want) {
			t.Errorf("%+v: %d items, err %v; want %d, code %d", tt.opts, n, err, tt.want, tt.code)
		}
	}
	// Pages of 3 cover everything once.
	seen := map[string]bool{}
	opts := metav1.ListOptions{Limit: 3}
	for {
		l, err := s.List(ctx, "ns", &opts)
		if err != nil {
			t.Fatal(err)
		}
		sl := l.(*corev1.SecretList)
		for _, it := range sl.Items {
			if seen[it.Name] {
				t.Errorf("%s seen twice", it.Name)
			}
			seen[it.Name] = true
		}
		if sl.Continue == "" {
			break
		}
		opts.Continue = sl.Continue
	}
	if len(seen) != 7 {
		t.Errorf("pages saw %d objects, want 7", len(seen))
	}
}

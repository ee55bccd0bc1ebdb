package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// objects is an in-memory Getter.
type objects struct {
	mu   sync.Mutex
	objs map[string]any // "kind/ns/name"
}

func newObjects() *objects { return &objects{objs: map[string]any{}} }

func (o *objects) put(kind, ns, name, uid string, mod func(*metav1.ObjectMeta)) {
	meta := metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid)}
	if mod != nil {
		mod(&meta)
	}
	var obj any
	switch kind {
	case "sa":
		obj = &corev1.ServiceAccount{ObjectMeta: meta}
	case "pod":
		obj = &corev1.Pod{ObjectMeta: meta}
	case "secret":
		obj = &corev1.Secret{ObjectMeta: meta}
	case "node":
		obj = &corev1.Node{ObjectMeta: meta}
	}
	o.mu.Lock()
	o.objs[kind+"/"+ns+"/"+name] = obj
	o.mu.Unlock()
}

func (o *objects) del(kind, ns, name string) {
	o.mu.Lock()
	delete(o.objs, kind+"/"+ns+"/"+name)
	o.mu.Unlock()
}

func (o *objects) get(kind, res, ns, name string) (any, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.objs[kind+"/"+ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: res}, name)
	}
	return v, nil
}

func (o *objects) GetServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	v, err := o.get("sa", "serviceaccounts", ns, name)
	if err != nil {
		return nil, err
	}
	return v.(*corev1.ServiceAccount).DeepCopy(), nil
}

func (o *objects) GetPod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	v, err := o.get("pod", "pods", ns, name)
	if err != nil {
		return nil, err
	}
	return v.(*corev1.Pod).DeepCopy(), nil
}

func (o *objects) GetSecret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	v, err := o.get("secret", "secrets", ns, name)
	if err != nil {
		return nil, err
	}
	return v.(*corev1.Secret).DeepCopy(), nil
}

func (o *objects) GetNode(_ context.Context, name string) (*corev1.Node, error) {
	v, err := o.get("node", "nodes", "", name)
	if err != nil {
		return nil, err
	}
	return v.(*corev1.Node).DeepCopy(), nil
}

// keys made once per test binary: RSA generation is slow.
var testKeys struct {
	once  sync.Once
	rsa   *rsa.PrivateKey
	rsa2  *rsa.PrivateKey
	ec    *ecdsa.PrivateKey
	other *ecdsa.PrivateKey
}

func keys(t testing.TB) (rsaKey, rsaKey2 *rsa.PrivateKey, ecKey, otherKey *ecdsa.PrivateKey) {
	t.Helper()
	testKeys.once.Do(func() {
		var err error
		if testKeys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if testKeys.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if testKeys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if testKeys.other, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return testKeys.rsa, testKeys.rsa2, testKeys.ec, testKeys.other
}

func newTestIssuer(t testing.TB, iss string, key crypto.Signer, now func() time.Time) *Issuer {
	t.Helper()
	i, err := NewIssuer(IssuerConfig{Issuer: iss, Key: key, DefaultAudiences: []string{"https://kastle.test"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

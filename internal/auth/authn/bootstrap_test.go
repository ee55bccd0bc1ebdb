package authn

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

// secretMap is an in-memory SecretGetter.
type secretMap struct {
	secrets map[string]*corev1.Secret
	err     error
}

func (m secretMap) GetSecret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	if m.err != nil {
		return nil, m.err
	}
	s, ok := m.secrets[ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
	}
	return s.DeepCopy(), nil
}

func bootstrapSecret(id, secret string, mod func(*corev1.Secret)) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: BootstrapTokenNamespace, Name: BootstrapTokenSecretPrefix + id},
		Type:       BootstrapTokenSecretType,
		Data: map[string][]byte{
			BootstrapTokenIDKey:        []byte(id),
			BootstrapTokenSecretKey:    []byte(secret),
			BootstrapTokenUsageAuthKey: []byte("true"),
		},
	}
	if mod != nil {
		mod(s)
	}
	return s
}

func TestBootstrapToken(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	const id, secret = "abcdef", "0123456789abcdef"
	tok := id + "." + secret
	tests := []struct {
		name    string
		secret  *corev1.Secret
		token   string
		getErr  error
		want    *user.Info
		notMine bool
		wantErr string
	}{
		{name: "valid", secret: bootstrapSecret(id, secret, nil),
			want: &user.Info{Name: "system:bootstrap:abcdef", Groups: []string{"system:bootstrappers"}}},
		{name: "valid with expiry and extra groups", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			s.Data[BootstrapTokenExpirationKey] = []byte(now.Add(time.Hour).Format(time.RFC3339))
			s.Data[BootstrapTokenExtraGroupsKey] = []byte("system:bootstrappers:kubeadm:default-node-token, system:bootstrappers:worker,system:bootstrappers:worker")
		}), want: &user.Info{Name: "system:bootstrap:abcdef", Groups: []string{"system:bootstrappers",
			"system:bootstrappers:kubeadm:default-node-token", "system:bootstrappers:worker"}}},
		{name: "not a bootstrap token", token: "abcdef.0123456789ABCDEF", notMine: true},
		{name: "too short", token: "abcde.0123456789abcdef", notMine: true},
		{name: "no secret", wantErr: "no secret kube-system/bootstrap-token-abcdef"},
		{name: "lookup fails", getErr: errors.New("etcd down"), wantErr: "etcd down"},
		{name: "wrong secret", secret: bootstrapSecret(id, "fedcba9876543210", nil), wantErr: "wrong token secret"},
		{name: "expired", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			s.Data[BootstrapTokenExpirationKey] = []byte(now.Add(-time.Second).Format(time.RFC3339))
		}), wantErr: "expired"},
		{name: "expiring right now", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			s.Data[BootstrapTokenExpirationKey] = []byte(now.Format(time.RFC3339))
		}), wantErr: "expired"},
		{name: "bad expiration", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			s.Data[BootstrapTokenExpirationKey] = []byte("tomorrow")
		}), wantErr: "bad expiration"},
		{name: "missing usage", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			delete(s.Data, BootstrapTokenUsageAuthKey)
		}), wantErr: "not for authentication"},
		{name: "usage false", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			s.Data[BootstrapTokenUsageAuthKey] = []byte("false")
		}), wantErr: "not for authentication"},
		{name: "wrong type", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) { s.Type = corev1.SecretTypeOpaque }), wantErr: "type"},
		{name: "token-id mismatch", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			s.Data[BootstrapTokenIDKey] = []byte("zzzzzz")
		}), wantErr: "token-id"},
		{name: "being deleted", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			s.DeletionTimestamp = &metav1.Time{Time: now}
		}), wantErr: "being deleted"},
		{name: "extra group outside system:bootstrappers:", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			s.Data[BootstrapTokenExtraGroupsKey] = []byte("system:masters")
		}), wantErr: "extra group"},
		{name: "extra group with bad characters", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			s.Data[BootstrapTokenExtraGroupsKey] = []byte("system:bootstrappers:Foo")
		}), wantErr: "extra group"},
		{name: "bare system:bootstrappers as extra group", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			s.Data[BootstrapTokenExtraGroupsKey] = []byte("system:bootstrappers")
		}), wantErr: "extra group"},
		{name: "extra group ending in a colon", secret: bootstrapSecret(id, secret, func(s *corev1.Secret) {
			s.Data[BootstrapTokenExtraGroupsKey] = []byte("system:bootstrappers:foo:")
		}), wantErr: "extra group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := secretMap{secrets: map[string]*corev1.Secret{}, err: tt.getErr}
			if tt.secret != nil {
				m.secrets[tt.secret.Namespace+"/"+tt.secret.Name] = tt.secret
			}
			a, err := NewBootstrapToken(m, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			token := tt.token
			if token == "" {
				token = tok
			}
			got, ok, err := a.AuthenticateToken(context.Background(), token)
			switch {
			case tt.notMine:
				if got != nil || ok || err != nil {
					t.Fatalf("got %v %v %v, want (nil, false, nil)", got, ok, err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ok {
					t.Fatalf("got %v %v %v, want error %q", got, ok, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q leaks the token secret", err)
				}
			default:
				if err != nil || !ok || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %+v %v %v, want %+v", got, ok, err, tt.want)
				}
			}
		})
	}
	if _, err := NewBootstrapToken(nil, time.Now); err == nil {
		t.Error("nil getter accepted")
	}
	if _, err := NewBootstrapToken(secretMap{}, nil); err == nil {
		t.Error("nil clock accepted")
	}
}

package admission

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/registry"
)

func TestNewChain(t *testing.T) {
	tests := []struct {
		enable, disable []string
		want            int
		ok              bool
	}{
		{nil, nil, 20, true},
		{[]string{"AlwaysDeny"}, nil, 21, true},
		{nil, []string{"NamespaceLifecycle"}, 19, true},
		{[]string{"Bogus"}, nil, 0, false},
		{nil, []string{"Bogus"}, 0, false},
	}
	for _, tt := range tests {
		c, err := NewChain(tt.enable, tt.disable, Deps{})
		if (err == nil) != tt.ok || len(c) != tt.want {
			t.Errorf("NewChain(%v, %v) = %d plugins, %v", tt.enable, tt.disable, len(c), err)
		}
	}
	c, _ := NewChain([]string{"AlwaysDeny"}, []string{"NamespaceLifecycle", "ServiceAccount", "NodeRestriction", "PodSecurity", "CertificateApproval", "ResourceQuota", "LimitRanger", "Priority", "DefaultStorageClass", "PersistentVolumeClaimResize", "RuntimeClass", "DefaultIngressClass", "CertificateSigning", "CertificateSubjectRestriction"}, Deps{})
	cat, _ := apis.NewCatalogue()
	cm, _ := cat.Lookup("", "v1", "configmaps")
	err := c.Validate(context.Background(), &registry.Attributes{Operation: registry.Create, Resource: cm, Namespace: "x", Name: "a"})
	if !apierrors.IsForbidden(err) {
		t.Errorf("AlwaysDeny: %v", err)
	}
}

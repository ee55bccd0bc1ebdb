package registry

import (
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/apis"
)

func FuzzSelectors(f *testing.F) {
	f.Add("app=web,tier!=db", "metadata.name=x")
	f.Add("app in (a,b),!gone", "type=Opaque")
	f.Add("a=", "spec.nodeName!=n1")
	f.Add("===", "metadata.name==")
	f.Add("x notin ()", "bogus.field=1")
	f.Add("", `metadata.name=a\,b`)
	cat, err := apis.NewCatalogue()
	if err != nil {
		f.Fatal(err)
	}
	pods, _ := cat.Lookup("", "v1", "pods")
	secrets, _ := cat.Lookup("", "v1", "secrets")
	f.Fuzz(func(t *testing.T, label, fieldSel string) {
		for _, r := range []*apis.Resource{pods, secrets} {
			s := &Store{Resource: r}
			p, _, err := s.predicate(&metav1.ListOptions{LabelSelector: label, FieldSelector: fieldSel})
			if err != nil {
				if !apierrors.IsBadRequest(err) {
					t.Fatalf("selectors %q %q: %v is not 400", label, fieldSel, err)
				}
				continue
			}
			// A parsed predicate must evaluate on a real object.
			if _, err := p.Matches(r.New()); err != nil {
				t.Fatalf("matching with %q %q: %v", label, fieldSel, err)
			}
		}
	})
}

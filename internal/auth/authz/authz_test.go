package authz

import (
	"context"
	"errors"
	"testing"
)

type fixed struct {
	d   Decision
	err error
}

func (f fixed) Authorize(context.Context, Attributes) (Decision, string, error) {
	return f.d, "why", f.err
}

func TestUnion(t *testing.T) {
	tests := []struct {
		name string
		u    Union
		want Decision
	}{
		{"empty denies by default", Union{}, NoOpinion},
		{"first decisive wins", Union{fixed{d: NoOpinion}, fixed{d: Allow}, fixed{d: Deny}}, Allow},
		{"deny stops", Union{fixed{d: Deny}, fixed{d: Allow}}, Deny},
		{"an error denies", Union{fixed{err: errors.New("broken")}, fixed{d: Allow}}, Deny},
		{"always deny", Union{AlwaysDeny{}, AlwaysAllow{}}, Deny},
		{"always allow", Union{AlwaysAllow{}}, Allow},
	}
	for _, tt := range tests {
		if d, _, _ := tt.u.Authorize(context.Background(), Attributes{}); d != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, d, tt.want)
		}
	}
}

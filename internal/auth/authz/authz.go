package authz

import (
	"context"
	"strings"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// Decision is an authorizer's answer.
type Decision int

// Decisions. NoOpinion lets the next authorizer decide; the chain denies
// when nobody allows.
const (
	NoOpinion Decision = iota
	Allow
	Deny
)

// Attributes is what is being authorized.
type Attributes struct {
	User *user.Info
	Info *request.Info
}

// Authorizer decides on one request.
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (Decision, string, error)
}

// Union asks each authorizer in turn; the first Allow or Deny wins.
type Union []Authorizer

var _ Authorizer = Union(nil)

// Authorize returns the first decisive answer, or NoOpinion.
func (u Union) Authorize(ctx context.Context, a Attributes) (Decision, string, error) {
	var reasons []string
	for _, z := range u {
		d, reason, err := z.Authorize(ctx, a)
		if err != nil {
			return Deny, reason, err
		}
		if d != NoOpinion {
			return d, reason, nil
		}
		if reason != "" {
			reasons = append(reasons, reason)
		}
	}
	return NoOpinion, strings.Join(reasons, "; "), nil
}

// AlwaysAllow allows everything (kube-apiserver's AlwaysAllow mode).
type AlwaysAllow struct{}

// Authorize always allows.
func (AlwaysAllow) Authorize(context.Context, Attributes) (Decision, string, error) {
	return Allow, "", nil
}

// AlwaysDeny denies everything (kube-apiserver's AlwaysDeny mode).
type AlwaysDeny struct{}

// Authorize always denies.
func (AlwaysDeny) Authorize(context.Context, Attributes) (Decision, string, error) {
	return Deny, "all requests are denied", nil
}

package request

import (
	"context"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

// WithUser returns a context carrying u.
func WithUser(ctx context.Context, u *user.Info) context.Context {
	return context.WithValue(ctx, userKey, u)
}

// UserFrom returns the authenticated user, if authentication ran.
func UserFrom(ctx context.Context) (*user.Info, bool) {
	u, ok := ctx.Value(userKey).(*user.Info)
	return u, ok && u != nil
}

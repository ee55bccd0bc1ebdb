package request

import (
	"context"
	"fmt"
	"net/http"
)

type warningsKey struct{}

// WithWarnings returns a context whose AddWarning calls add a Warning
// header to h (the response's headers, before they are written), so code
// below the handler (admission) can warn the client.
func WithWarnings(ctx context.Context, h http.Header) context.Context {
	return context.WithValue(ctx, warningsKey{}, h)
}

// AddWarning adds a "299 -" Warning header with msg, as kube-apiserver
// does; it reports false when the context carries no response.
func AddWarning(ctx context.Context, msg string) bool {
	h, ok := ctx.Value(warningsKey{}).(http.Header)
	if !ok {
		return false
	}
	h.Add("Warning", fmt.Sprintf("299 - %q", msg))
	return true
}

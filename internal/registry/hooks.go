package registry

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
)

// WriteHooks claim and release what a resource's objects hold outside
// their own etcd key, such as a Service's cluster IPs and node ports.
// Hooks run after mutating admission and before validation, so what they
// fill in (an allocated IP) is validated and seen by validating admission.
type WriteHooks interface {
	// BeforeCreate claims what obj needs and may fill it into obj. The
	// returned Finish is called once with whether the object was stored.
	BeforeCreate(ctx context.Context, obj runtime.Object, dryRun bool) (Finish, error)
	// BeforeUpdate does the same for obj replacing old; it may carry
	// claimed values over from old. Finish(true) releases what old held
	// and obj no longer does; Finish(false) releases what was claimed.
	BeforeUpdate(ctx context.Context, obj, old runtime.Object, dryRun bool) (Finish, error)
	// Deleted releases what obj held; obj is gone from storage.
	Deleted(ctx context.Context, obj runtime.Object)
}

// Finish completes a hook's claim: ok reports whether the write happened.
type Finish func(ok bool)

func noFinish(bool) {}

// finishOnce returns a Finish that calls f at most once.
func finishOnce(f Finish) Finish {
	if f == nil {
		return noFinish
	}
	done := false
	return func(ok bool) {
		if !done {
			done = true
			f(ok)
		}
	}
}

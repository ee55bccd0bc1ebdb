// Package namespace is the namespace lifecycle controller: when a
// namespace is deleted (it turns Terminating), it deletes everything in
// it, waits for the content's finalizers, then removes the namespace's
// "kubernetes" finalizer so the namespace itself goes.
package namespace

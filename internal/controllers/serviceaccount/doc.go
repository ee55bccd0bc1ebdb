// Package serviceaccount is the legacy token controller of the controller
// manager, on client-go informers: it fills Secrets of type
// kubernetes.io/service-account-token with a token, ca.crt and namespace,
// signed with the service-account key the API server verifies
// (--service-account-private-key-file), and deletes those whose
// ServiceAccount is gone or replaced. (Every namespace's "default"
// ServiceAccount comes from internal/controllers/nsdefaults.)
package serviceaccount

// Package serviceaccount fills legacy token Secrets (type
// kubernetes.io/service-account-token) with their token, ca.crt and
// namespace, signed by the API server's service-account issuer. (Every
// namespace's "default" ServiceAccount comes from internal/controllers/
// nsdefaults in the controller manager.)
package serviceaccount

// Package serviceaccount holds the service-account controllers: every
// active namespace has a ServiceAccount named "default" (recreated if
// deleted), and legacy token Secrets (type
// kubernetes.io/service-account-token) get their token, ca.crt and
// namespace filled in.
package serviceaccount

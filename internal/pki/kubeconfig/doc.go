// Package kubeconfig ensures kubeconfig files whose client credentials are
// certificates issued by a kastle CA, such as <data-dir>/admin.conf.
//
// Files are built with client-go's clientcmd types and serializer, so they
// are exactly what kubectl and client-go read, and follow the same rules as
// package pki: an existing file is reused if its CA and credentials are
// still valid, a mismatch is an error naming the file, and only the
// non-secret connection details (server URL, context) are ever rewritten.
package kubeconfig

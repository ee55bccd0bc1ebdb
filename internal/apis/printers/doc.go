// Package printers turns built-in API objects into the rows of a
// meta.k8s.io/v1 Table, with the same columns, column types, priorities and
// cell formats that kube-apiserver 1.32 produces, so that `kubectl get` (which
// asks the server for a Table) prints the same output against kastle as
// against Kubernetes.
//
// The server always builds the full ("wide") row; kubectl hides columns with
// Priority > 0 unless `-o wide` is given. Cells are plain JSON values
// (string, int64) so the Table serializes without further conversion.
package printers

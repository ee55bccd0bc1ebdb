// Package status writes errors to clients the Kubernetes way: as a
// metav1.Status JSON object whose code, reason and message say what was
// wrong. Filters and handlers share it so every error looks the same.
package status

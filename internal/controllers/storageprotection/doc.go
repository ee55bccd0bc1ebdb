// Package storageprotection removes the kubernetes.io/pvc-protection and
// kubernetes.io/pv-protection finalizers (added by the
// StorageObjectInUseProtection admission plugin) once a deleted claim is no
// longer used by any pod, and a deleted volume is no longer bound, so that
// storage in use is never removed from under a pod.
package storageprotection

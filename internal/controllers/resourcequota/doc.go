// Package resourcequota keeps each ResourceQuota's status current:
// status.hard mirrors spec.hard and status.used is recomputed from the
// objects that exist in the namespace (pods, services and claims as they
// change, every other counted resource on a short resync), which also
// returns what deleted objects were charged at admission.
package resourcequota

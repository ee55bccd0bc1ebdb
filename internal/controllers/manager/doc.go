// Package manager runs the controllers on client-go informers with leader
// election on a Lease, so several controller managers (in-process in
// `kastle server` or out of process as `kastle controller-manager`) can run
// and exactly one acts at a time.
package manager

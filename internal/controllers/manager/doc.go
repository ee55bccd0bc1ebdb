// Package manager runs the controllers on client-go informers with leader
// election on a Lease, so several controller managers (in-process in
// `kastle server` or out of process as `kastle controller-manager`) can run
// and exactly one acts at a time. It runs every controller kastle has
// (the API server runs none): the CSR, bootstrap-token, node lifecycle,
// namespace defaults, quota and storage protection controllers, the
// namespace controller, the garbage collector and the legacy token
// controller, selected as kube-controller-manager's --controllers selects
// them. The namespace controller and the garbage collector act as their
// own service accounts.
package manager

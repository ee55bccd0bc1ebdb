// Package registrytest builds real registry stores on a test's etcd (see
// internal/storage/etcdtest) for tests of the registry and of what sits on
// it (controllers, admission). No fake stores: every call reaches etcd.
package registrytest

// Package etcdtest starts one real embedded etcd for a package's tests, so
// tests exercise the storage they will run on rather than a fake store.
package etcdtest

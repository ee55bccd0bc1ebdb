// Package cli is kastle's command line: one file per command, each binding
// its flags to a config struct it owns (kube-apiserver's flag names where
// the concept is the same).
package cli

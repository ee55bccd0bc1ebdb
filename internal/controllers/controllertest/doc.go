// Package controllertest runs a controller under test alone against a
// real API server (pkg/testenv without in-process controllers), for the
// controllers' tests.
package controllertest

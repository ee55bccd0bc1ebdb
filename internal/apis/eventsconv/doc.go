// Package eventsconv converts between core/v1 Events and events.k8s.io/v1
// Events, which kube-apiserver serves from one storage: an event written
// through either API is read through both.
package eventsconv

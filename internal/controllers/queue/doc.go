// Package queue is the work loop the controllers share: a client-go
// rate-limited workqueue of object keys, workers that call a sync
// function, and retries with exponential back-off on error.
package queue

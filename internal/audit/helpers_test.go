package audit

import (
	"net/http"
	"net/http/httptest"
)

// nopWriter is a ResponseWriter that discards everything.
type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriter) WriteHeader(int)             {}

func mustRequest(method, url string) *http.Request { return httptest.NewRequest(method, url, nil) }

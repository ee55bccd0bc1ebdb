package openapi

import (
	"encoding/pem"
	"net/http/httptest"
	"testing"
)

// certPEM returns the PEM of the test server's real, self-signed
// certificate, for clients to trust.
func certPEM(t *testing.T, srv *httptest.Server) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

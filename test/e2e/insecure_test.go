package e2e

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestInsecurePort checks seed 004's insecure port: off by default, and
// when set, plain HTTP on 127.0.0.1 only, as an administrator.
func TestInsecurePort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--insecure-port", strconv.Itoa(port))
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"kind":"NamespaceList"`) {
		t.Errorf("insecure port: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(s.log.String(), "serving the insecure port") {
		t.Error("no warning logged for the insecure port")
	}
	// The shared server runs without it: its secure port speaks only TLS.
	if resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(env.shared.port) + "/version"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.Contains(string(b), "gitVersion") {
			t.Error("the secure port answered plain HTTP")
		}
	}
}

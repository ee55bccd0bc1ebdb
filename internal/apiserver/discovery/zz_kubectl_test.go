package discovery

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
)

func TestZZKubectl(t *testing.T) {
	h := New(newCatalogue(t))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Logf("%s accept=%q inm=%q", r.URL.Path, r.Header.Get("Accept"), r.Header.Get("If-None-Match"))
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	for _, args := range [][]string{{"api-resources", "-v=6"}, {"api-resources", "-v=6"}, {"api-resources", "-v=6", "--cached=false"}} {
		cmd := exec.Command("kubectl", append([]string{"--server", srv.URL, "--cache-dir", dir}, args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG=/dev/null")
		out, err := cmd.CombinedOutput()
		if len(out) > 600 { out = out[:600] }
		t.Logf("%v: %v\n%s", args, err, out)
	}
}

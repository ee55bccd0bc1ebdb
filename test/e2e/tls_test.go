package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// adminFiles are the admin credentials of a server as PEM files, the way
// an operator hands them to curl and openssl.
type adminFiles struct{ cert, key, ca string }

// extractAdmin writes the client certificate and key embedded in s's
// admin.conf to files and points at the server's CA certificate.
func extractAdmin(t *testing.T, s *server) adminFiles {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil {
		t.Fatalf("admin.conf has no current context %q", cfg.CurrentContext)
	}
	user := cfg.AuthInfos[ctx.AuthInfo]
	if user == nil || len(user.ClientCertificateData) == 0 || len(user.ClientKeyData) == 0 {
		t.Fatalf("admin.conf user %q has no embedded client certificate and key", ctx.AuthInfo)
	}
	dir := t.TempDir()
	f := adminFiles{cert: filepath.Join(dir, "admin.crt"), key: filepath.Join(dir, "admin.key"), ca: filepath.Join(s.dataDir, "pki", "ca.crt")}
	if err := os.WriteFile(f.cert, user.ClientCertificateData, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.key, user.ClientKeyData, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.ca); err != nil {
		t.Fatalf("server CA certificate: %v", err)
	}
	return f
}

// curlResult is one HTTP exchange made by curl.
type curlResult struct {
	status int
	body   string
}

// curl runs curl against s with the given extra arguments and path,
// returning the HTTP status and body. Client credentials are added only
// when creds is non-nil.
func curl(t *testing.T, s *server, creds *adminFiles, path string, args ...string) curlResult {
	t.Helper()
	ca := filepath.Join(s.dataDir, "pki", "ca.crt")
	// --noproxy: test traffic stays on loopback whatever the environment says.
	all := []string{"-sS", "--noproxy", "*", "--max-time", "30", "--cacert", ca, "-w", "\n%{http_code}"}
	if creds != nil {
		all = append(all, "--cert", creds.cert, "--key", creds.key)
	}
	all = append(all, args...)
	all = append(all, s.url+path)
	r := run(t, runOpts{}, env.curl, all...)
	if r.code != 0 {
		t.Fatalf("curl %s: %s", strings.Join(all, " "), r)
	}
	i := strings.LastIndexByte(r.stdout, '\n')
	code, err := strconv.Atoi(r.stdout[i+1:])
	if err != nil {
		t.Fatalf("curl status %q: %v", r.stdout[i+1:], err)
	}
	return curlResult{status: code, body: r.stdout[:i]}
}

// TestCurlAPI is seed 001's check: curl with the admin client certificate
// reads /api/ as an APIVersions object.
func TestCurlAPI(t *testing.T) {
	t.Parallel()
	s := env.shared
	creds := extractAdmin(t, s)
	r := curl(t, s, &creds, "/api/")
	if r.status != 200 {
		t.Fatalf("GET /api/ = %d: %s", r.status, r.body)
	}
	var v struct {
		Kind, APIVersion string
		Versions         []string
		Addrs            []struct{ ClientCIDR, ServerAddress string } `json:"serverAddressByClientCIDRs"`
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if v.Kind != "APIVersions" || len(v.Versions) != 1 || v.Versions[0] != "v1" {
		t.Errorf("GET /api/ = %s", r.body)
	}
	if len(v.Addrs) == 0 || v.Addrs[0].ClientCIDR != "0.0.0.0/0" || !strings.HasPrefix(v.Addrs[0].ServerAddress, "127.0.0.1:") {
		t.Errorf("serverAddressByClientCIDRs = %+v", v.Addrs)
	}

	// The same credentials read a namespace list: x509 authentication maps
	// the certificate to a user allowed to do so.
	r = curl(t, s, &creds, "/api/v1/namespaces/default")
	if r.status != 200 || !strings.Contains(r.body, `"kind":"Namespace"`) && !strings.Contains(r.body, `"kind": "Namespace"`) {
		t.Errorf("GET namespace default = %d: %s", r.status, r.body)
	}
}

// TestAnonymous checks what a client without a certificate may see: as
// with kube-apiserver's default --anonymous-auth=true, it is
// system:anonymous, allowed the health and version endpoints and
// forbidden (403, not 401) everything else.
func TestAnonymous(t *testing.T) {
	t.Parallel()
	s := env.shared
	for _, tc := range []struct {
		path   string
		status int
		check  func(body string) bool
	}{
		{"/api/", 403, func(b string) bool {
			return strings.Contains(b, `"kind":"Status"`) && strings.Contains(b, `"reason":"Forbidden"`) &&
				strings.Contains(b, `User\"system:anonymous\"cannotgetpath\"/api/\"`) // spaces removed
		}},
		{"/api/v1/namespaces", 403, func(b string) bool {
			return strings.Contains(b, `"code":403`) && strings.Contains(b, `cannotlistresource\"namespaces\"`)
		}},
		{"/healthz", 200, func(b string) bool { return b == "ok" }},
		{"/readyz", 200, func(b string) bool { return b == "ok" }},
		{"/livez", 200, func(b string) bool { return b == "ok" }},
		{"/version", 200, func(b string) bool {
			var v struct{ Major, Minor, GitVersion string }
			return json.Unmarshal([]byte(b), &v) == nil && v.Major == "1" && v.Minor == "32" && strings.HasPrefix(v.GitVersion, "v1.32.")
		}},
	} {
		t.Run(strings.Trim(tc.path, "/"), func(t *testing.T) {
			r := curl(t, s, nil, tc.path)
			body := strings.Join(strings.Fields(r.body), "")
			if tc.path == "/version" {
				body = r.body
			}
			if r.status != tc.status || !tc.check(body) {
				t.Errorf("GET %s without a client certificate = %d %s", tc.path, r.status, r.body)
			}
		})
	}
}

// TestOpenSSLVerify checks the serving certificate chain as openssl sees
// it: trusted by the cluster CA and valid for 127.0.0.1.
func TestOpenSSLVerify(t *testing.T) {
	t.Parallel()
	s := env.shared
	ca := filepath.Join(s.dataDir, "pki", "ca.crt")
	addr := "127.0.0.1:" + strconv.Itoa(s.port)
	r := run(t, runOpts{stdin: "Q\n"}, env.openssl, "s_client", "-connect", addr, "-CAfile", ca, "-verify_ip", "127.0.0.1", "-verify_return_error")
	if r.code != 0 || !strings.Contains(r.stdout, "Verify return code: 0 (ok)") {
		t.Errorf("openssl s_client: %s", r)
	}
	mustContain(t, r.stdout, "Acceptable client certificate CA names")
	// TLS 1.1 is refused: kastle serves TLS 1.2 and later only.
	r = run(t, runOpts{stdin: "Q\n"}, env.openssl, "s_client", "-connect", addr, "-CAfile", ca, "-tls1_1")
	if r.code == 0 && strings.Contains(r.stdout, "Verify return code: 0 (ok)") && !strings.Contains(r.combined(), "alert") {
		t.Errorf("TLS 1.1 handshake accepted: %s", r)
	}
	// The apiserver certificate on disk is issued by the CA and names 127.0.0.1.
	r = run(t, runOpts{}, env.openssl, "verify", "-CAfile", ca, filepath.Join(s.dataDir, "pki", "apiserver.crt"))
	if r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Errorf("openssl verify apiserver.crt: %s", r)
	}
	r = run(t, runOpts{}, env.openssl, "x509", "-in", filepath.Join(s.dataDir, "pki", "apiserver.crt"), "-noout", "-ext", "subjectAltName")
	mustContain(t, r.stdout, "IP Address:127.0.0.1")
}

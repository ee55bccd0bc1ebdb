package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestMain builds the server once, locates the client tools, and starts
// the server most tests share.
func TestMain(m *testing.M) {
	os.Exit(mainWithServer(m))
}

func mainWithServer(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "kastle-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	for _, tool := range []struct {
		name string
		dst  *string
	}{{"kubectl", &env.kubectl}, {"curl", &env.curl}, {"openssl", &env.openssl}} {
		p, err := exec.LookPath(tool.name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s is required on PATH for the end-to-end tests: %v\n", tool.name, err)
			return 1
		}
		*tool.dst = p
	}

	env.kastle = filepath.Join(tmp, "kastle")
	build := exec.Command("go", "build", "-o", env.kastle, "github.com/kastle-dev/kastle/cmd/kastle")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building kastle:", err)
		return 1
	}

	// The shared server also accepts the static tokens of tokenFile.
	env.tokenFile = filepath.Join(tmp, "tokens.csv")
	if err := os.WriteFile(env.tokenFile, []byte(staticTokens), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	dataDir := filepath.Join(tmp, "shared")
	shared, err := launch(dataDir, 0, "--token-auth-file", env.tokenFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the shared server:", err)
		return 1
	}
	env.shared = shared
	code := m.Run()
	if err := shared.stop(syscall.SIGTERM); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: shared server:", err)
		code = 1
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: shared server log (tail):\n%s\n", shared.log.tail(32<<10))
	}
	return code
}

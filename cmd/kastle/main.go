// Command kastle is a secure, Kubernetes-compatible control plane in one
// binary. See `kastle --help`.
package main

import (
	"os"

	"github.com/kastle-dev/kastle/internal/cli"
)

func main() {
	if err := cli.NewRoot(os.Stderr).Execute(); err != nil {
		os.Exit(1)
	}
}

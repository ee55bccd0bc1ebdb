// Command kubectl builds the upstream kubectl 1.32 from the k8s.io/kubectl
// module, for machines that lack one: the end-to-end tests need the real
// client. Only .ci/run uses it.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	os.Exit(cli.Run(cmd.NewDefaultKubectlCommand()))
}

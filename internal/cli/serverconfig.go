package cli

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/kastle-dev/kastle/internal/apiserver"
	"github.com/kastle-dev/kastle/internal/controllers/csrsigning"
)

// ServerConfig parses args, flags of `kastle server` (kube-apiserver's
// names, e.g. "--authorization-mode=RBAC"), into the configuration that
// command would run with, so an in-process server (pkg/testenv) takes
// the same flags with the same meaning. Flags named in reserved belong
// to the caller: setting one is an error. The logger is left unset.
func ServerConfig(args []string, reserved ...string) (apiserver.Config, error) {
	cfg := apiserver.DefaultConfig()
	ctrl := newControllerFlags()
	fs := pflag.NewFlagSet("kastle server", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addServerFlags(fs, &cfg, ctrl)
	if err := fs.Parse(args); err != nil {
		return apiserver.Config{}, fmt.Errorf("API server flags: %w", err)
	}
	if fs.NArg() > 0 {
		return apiserver.Config{}, fmt.Errorf("API server flags: unexpected argument %q", fs.Arg(0))
	}
	for _, name := range reserved {
		if fs.Changed(name) {
			return apiserver.Config{}, fmt.Errorf("API server flags: --%s is set by the caller", name)
		}
	}
	ctrl.apply(&cfg.Controllers, csrsigning.CAFiles{})
	return cfg, nil
}

package cli

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// NewRoot returns the kastle command with its subcommands. Logs go to
// stderr.
func NewRoot(stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "kastle",
		Short:         "A secure, Kubernetes-compatible control plane in one binary",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	var verbose bool
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log debug messages")
	logger := func() *slog.Logger {
		level := slog.LevelInfo
		if verbose {
			level = slog.LevelDebug
		}
		return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	}
	root.AddCommand(newServerCommand(logger))
	root.AddCommand(newControllerManagerCommand(logger))
	root.AddCommand(newCertsCommand(), newKubeconfigCommand(), newTokenCommand(), newJoinCommand(), newInitCommand(logger))
	root.AddCommand(newCACommand(logger))
	root.AddCommand(newAgentCommand(logger))
	return root
}

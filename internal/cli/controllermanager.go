package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kastle-dev/kastle/internal/controllers/csrsigning"
	"github.com/kastle-dev/kastle/internal/controllers/manager"
	kcfg "github.com/kastle-dev/kastle/internal/pki/kubeconfig"
)

func newControllerManagerCommand(logger func() *slog.Logger) *cobra.Command {
	var (
		cfg        manager.Config
		kubeconfig string
		master     string
	)
	ctrl := newControllerFlags()
	cmd := &cobra.Command{
		Use:   "controller-manager",
		Short: "Run the controllers out of process, with leader election (what `kastle server` runs in-process)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kubeconfig == "" {
				return errors.New("--kubeconfig is required")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			// A kubeconfig with embedded credentials is followed, so a
			// renewed certificate is picked up without a restart.
			rc, err := kcfg.RotatingConfig(ctx, kubeconfig, 10*time.Second)
			if err != nil {
				if rc, err = clientcmd.BuildConfigFromFlags(master, kubeconfig); err != nil {
					return fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
				}
			} else if master != "" {
				rc.Host = master
			}
			cfg.Client, cfg.Log = rc, logger()
			if cfg.ServerCAData, err = manager.CAFromKubeconfig(kubeconfig); err != nil {
				return fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
			}
			ctrl.apply(&cfg, csrsigning.CAFiles{})
			cfg.Log.Info("kastle controller manager starting", "server", rc.Host, "leader-elect", cfg.LeaderElect)
			return manager.Run(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the controller manager's identity (e.g. DATA_DIR/controller-manager.conf)")
	f.StringVar(&master, "master", "", "API server URL, overriding the kubeconfig's")
	ctrl.add(f, &cfg, "")
	f.StringVar(&cfg.ServiceAccountKeyFile, "service-account-private-key-file", "",
		"private key (PEM) signing the tokens of kubernetes.io/service-account-token Secrets: the API server's --service-account-signing-key-file (e.g. DATA_DIR/pki/sa.key); without it they stay unfilled")
	return cmd
}

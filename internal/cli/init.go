package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kastle-dev/kastle/internal/apiserver"
	"github.com/kastle-dev/kastle/internal/cluster"
	"github.com/kastle-dev/kastle/internal/controllers/csrsigning"
)

// newInitCommand is `kastle init`: kubeadm's phases, the control plane
// started in between, then it keeps serving.
func newInitCommand(logger func() *slog.Logger) *cobra.Command {
	cfg := &cluster.InitConfig{Server: apiserver.DefaultConfig(), TokenTTL: 24 * time.Hour}
	ctrl := newControllerFlags()
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a cluster: pre-flight checks, certificates, kubeconfigs, the control plane, a bootstrap token; then serve",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfigFile(cmd, cfg); err != nil {
				return err
			}
			cfg.Out = cmd.OutOrStdout()
			cfg.Server.Log = logger()
			ctrl.apply(&cfg.Server.Controllers, csrsigning.CAFiles{})
			if err := pickPort(cfg); err != nil {
				return err
			}
			st, err := cluster.NewInitState(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			phases := cluster.InitPhases()
			for _, p := range phases {
				if p.Online {
					continue
				}
				if err := p.Run(ctx, st); err != nil {
					return err
				}
			}
			fmt.Fprintln(cfg.Out, "[control-plane] Starting the API server, storage and controller manager")
			ready := make(chan string, 1)
			done := make(chan error, 1)
			go func() { done <- apiserver.Run(ctx, cfg.Server, func(url, _ string) { ready <- url }) }()
			var url string
			select {
			case url = <-ready:
			case err := <-done:
				return fmt.Errorf("[control-plane] %w", err)
			case <-time.After(2 * time.Minute):
				return errors.New("[control-plane] the API server did not become ready within 2 minutes")
			}
			fmt.Fprintf(cfg.Out, "[control-plane] The API server is ready at %s\n", url)
			if err := st.Connect(url); err != nil {
				return err
			}
			for _, p := range phases {
				if !p.Online {
					continue
				}
				if err := p.Run(ctx, st); err != nil {
					return err
				}
			}
			fmt.Fprintf(cfg.Out, "\nYour kastle control-plane has initialized successfully!\n\nTo start using your cluster:\n\n  export KUBECONFIG=%s/admin.conf\n\n", cfg.Server.DataDir)
			if cp := st.ControlPlaneJoinCommand(); cp != "" {
				fmt.Fprintf(cfg.Out, "You can now join any number of control-plane nodes by running the following on each (the certificate key expires in %s):\n\n%s\n\n",
					cfg.CertificateKeyTTL, cp)
			}
			fmt.Fprintf(cfg.Out, "Then you can join any number of nodes by running the following on each:\n\n%s\n\n", st.JoinCommand())
			return <-done
		},
	}
	addServerFlags(cmd.Flags(), &cfg.Server, ctrl)
	addInitFlags(cmd, cfg)
	cmd.AddCommand(newInitPhaseCommand(cfg, ctrl))
	return cmd
}

func addInitFlags(cmd *cobra.Command, cfg *cluster.InitConfig) {
	f := cmd.Flags()
	f.String("config", "", "a kastle.io/v1alpha1 InitConfiguration file (flags given on the command line win over it)")
	f.StringVar(&cfg.NodeName, "node-name", "", "this node's name (default: the host name)")
	f.StringVar(&cfg.ControlPlaneEndpoint, "control-plane-endpoint", "", "host:port nodes reach the API server at (default: bind address and secure port)")
	f.StringVar(&cfg.Token, "token", "", "the bootstrap token to create (default: a random one)")
	f.DurationVar(&cfg.TokenTTL, "token-ttl", cfg.TokenTTL, "lifetime of the bootstrap token (0: forever)")
	f.BoolVar(&cfg.UploadCerts, "upload-certs", false, "store the shared CA, service-account and etcd client keys, encrypted, for `kastle join --control-plane`")
	f.StringVar(&cfg.CertificateKey, "certificate-key", "", "AES-256 key (64 hex digits) encrypting the uploaded keys (default: a random one, printed)")
	f.DurationVar(&cfg.CertificateKeyTTL, "certificate-key-ttl", cluster.DefaultCertsTTL, "how long the uploaded keys stay")
	f.StringSliceVar(&cfg.IgnorePreflightErrors, "ignore-preflight-errors", nil, "checks whose errors only warn, e.g. Port-6443 or all")
}

// pickPort resolves --secure-port 0 to a free port before the phases, so
// certificates, kubeconfigs and the join command agree on it.
func pickPort(cfg *cluster.InitConfig) error {
	if cfg.Server.SecurePort != 0 {
		return nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Server.BindAddress, "0"))
	if err != nil {
		return err
	}
	cfg.Server.SecurePort = ln.Addr().(*net.TCPAddr).Port
	return ln.Close()
}

// newInitPhaseCommand runs single phases: the offline ones against the
// data directory, the online ones against the running control plane.
func newInitPhaseCommand(cfg *cluster.InitConfig, ctrl *controllerFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "phase", Short: "Run one phase of kastle init"}
	for _, p := range cluster.InitPhases() {
		p := p
		sub := &cobra.Command{
			Use:   p.Name,
			Short: p.Help,
			Args:  cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				if err := applyConfigFile(c, cfg); err != nil {
					return err
				}
				cfg.Out = c.OutOrStdout()
				if cfg.Server.SecurePort == 0 && cfg.ControlPlaneEndpoint == "" {
					return errors.New("--secure-port 0 needs --control-plane-endpoint for a single phase")
				}
				st, err := cluster.NewInitState(cfg)
				if err != nil {
					return err
				}
				if p.Online {
					if err := st.Connect(st.URL()); err != nil {
						return err
					}
				}
				if err := p.Run(context.Background(), st); err != nil {
					return err
				}
				if p.Name == "bootstrap-token" {
					fmt.Fprintln(cfg.Out, st.JoinCommand())
				}
				return nil
			},
		}
		addServerFlags(sub.Flags(), &cfg.Server, ctrl)
		addInitFlags(sub, cfg)
		cmd.AddCommand(sub)
	}
	return cmd
}

// applyConfigFile reads --config, if given, under the flags that were set.
func applyConfigFile(cmd *cobra.Command, cfg *cluster.InitConfig) error {
	path, _ := cmd.Flags().GetString("config")
	if path == "" {
		return nil
	}
	f, err := cluster.LoadInitConfigFile(path)
	if err != nil {
		return err
	}
	return f.Apply(cfg, func(flag string) bool { return cmd.Flags().Changed(flag) })
}

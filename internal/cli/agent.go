package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kastle-dev/kastle/internal/agent"
)

func newAgentCommand(logger func() *slog.Logger) *cobra.Command {
	cfg := agent.Config{}
	var labels, taints string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the node agent: TLS bootstrap, certificate rotation, Node and Lease heartbeats, an authorized HTTPS API",
		Long: `Run the node agent (kubelet's security part).

With no usable DATA_DIR/kubelet.conf it bootstraps: a client certificate CSR
made with the bootstrap kubeconfig's token, auto-approved by the cluster, is
written to DATA_DIR/pki/kubelet-client-current.pem and DATA_DIR/kubelet.conf.
It then registers its Node, renews its Lease, rotates its certificates, and
asks for a serving certificate; its HTTPS API listens only once a person (or
the --approve-kubelet-serving policy) has approved that request
("kubectl certificate approve").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.NodeLabels, err = agent.ParseLabels(labels); err != nil {
				return err
			}
			if cfg.RegisterWithTaints, err = agent.ParseTaints(taints); err != nil {
				return err
			}
			if err := cfg.Complete(os.Hostname); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			log := logger()
			a, err := agent.Start(ctx, &cfg, log)
			if err != nil {
				return err
			}
			select {
			case <-ctx.Done():
			case err := <-a.Err():
				cancel()
				_ = a.Wait()
				return err
			}
			return a.Wait()
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", "", "directory of kubelet.conf, bootstrap-kubelet.conf and pki/ (required)")
	f.StringVar(&cfg.NodeName, "node-name", "", "name of the Node (default: the host name)")
	f.StringVar(&cfg.NodeIP, "node-ip", agent.DefaultNodeIP, "the Node's InternalIP, the serving certificate's IP SAN and the API's listen address")
	f.IntVar(&cfg.Port, "port", agent.DefaultPort, "HTTPS port of the API (0: a free port, logged in the \"kastle agent ready\" line)")
	f.StringVar(&cfg.BootstrapKubeconfig, "bootstrap-kubeconfig", "", "kubeconfig with a bootstrap token, used when kubelet.conf is unusable (default DATA_DIR/bootstrap-kubelet.conf)")
	f.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "the node's kubeconfig, written by bootstrap (default DATA_DIR/kubelet.conf)")
	f.BoolVar(&cfg.RotateCertificates, "rotate-certificates", true, "renew the client certificate before it expires")
	f.BoolVar(&cfg.RotateServerCertificates, "rotate-server-certificates", true, "renew the serving certificate before it expires")
	f.StringVar(&labels, "node-labels", "", "labels added at registration, key=value,...")
	f.StringVar(&taints, "register-with-taints", "", "taints set at registration only, key[=value]:Effect,...")
	f.Int32Var(&cfg.LeaseDurationSeconds, "lease-duration-seconds", agent.DefaultLeaseDurationSeconds, "the node Lease's leaseDurationSeconds")
	f.DurationVar(&cfg.NodeStatusUpdateFrequency, "node-status-update-frequency", agent.DefaultNodeStatusUpdateFrequency, "how often the Node's status is written")
	return cmd
}

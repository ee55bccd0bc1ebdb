package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/cluster"
	"github.com/kastle-dev/kastle/internal/pki"
)

// joinFlags are `kastle join`'s flags, kubeadm's names.
type joinFlags struct {
	token, discoveryFile, dataDir, nodeName, nodeIP string
	pins, skipPhases                                []string
	controlPlane                                    bool
	certificateKey, advertiseAddress                string
	bindPort                                        int
	unsafeSkipCA                                    bool
	port                                            int
	timeout                                         time.Duration
}

func newJoinCommand() *cobra.Command {
	var f joinFlags
	cmd := &cobra.Command{
		Use:   "join HOST:PORT",
		Short: "Join a node: discover and verify the cluster with a bootstrap token, then run the node agent",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.dataDir == "" {
				return errors.New("--data-dir is required")
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, "[preflight] Running pre-flight checks")
			if err := os.MkdirAll(f.dataDir, pki.DirMode); err != nil {
				return fmt.Errorf("[preflight] data directory: %w", err)
			}
			if _, err := os.Stat(filepath.Join(f.dataDir, "kubelet.conf")); err == nil {
				return fmt.Errorf("[preflight] %s already exists: this node has joined already", filepath.Join(f.dataDir, "kubelet.conf"))
			}
			tok, err := bootstraptoken.Parse(f.token)
			if err != nil {
				return fmt.Errorf("--token: %w", err)
			}
			var conf []byte
			if f.discoveryFile != "" {
				conf, err = fileDiscovery(f.discoveryFile, tok)
			} else {
				if len(args) != 1 {
					return errors.New("the API server endpoint HOST:PORT is required (or --discovery-file)")
				}
				conf, err = tokenDiscovery(cmd.Context(), out, args[0], tok, f)
			}
			if err != nil {
				return err
			}
			path := filepath.Join(f.dataDir, "bootstrap-kubelet.conf")
			if err := pki.WriteFileAtomic(path, conf, pki.KubeconfigFileMode, true); err != nil {
				return err
			}
			fmt.Fprintf(out, "[kubelet-start] Writing the bootstrap kubeconfig to %q\n", path)
			if f.controlPlane {
				return joinControlPlane(cmd, f, path)
			}
			if slices.Contains(f.skipPhases, "kubelet-start") {
				fmt.Fprintln(out, "[kubelet-start] Skipped: start the node agent with `kastle agent --data-dir "+f.dataDir+"`")
				return nil
			}
			return startAgent(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.token, "token", "", "bootstrap token (abcdef.0123456789abcdef) for discovery and TLS bootstrap")
	fl.StringSliceVar(&f.pins, "discovery-token-ca-cert-hash", nil, "sha256:<hex> pin of the cluster CA's public key (repeatable)")
	fl.BoolVar(&f.unsafeSkipCA, "discovery-token-unsafe-skip-ca-verification", false, "trust the CA in cluster-info without a pin (the token still checks its signature)")
	fl.StringVar(&f.discoveryFile, "discovery-file", "", "a kubeconfig whose cluster (server and CA) to trust instead of token discovery")
	fl.StringVar(&f.dataDir, "data-dir", "", "the node's data directory (bootstrap-kubelet.conf, kubelet.conf, pki/)")
	fl.StringVar(&f.nodeName, "node-name", "", "the node's name (default: the host name)")
	fl.StringVar(&f.nodeIP, "node-ip", "127.0.0.1", "the node's IP: its agent serves there")
	fl.IntVar(&f.port, "port", 10250, "the agent's HTTPS port (0: a free one)")
	fl.StringSliceVar(&f.skipPhases, "skip-phases", nil, "phases to skip: kubelet-start (write bootstrap-kubelet.conf only, for a service manager to start the agent)")
	fl.BoolVar(&f.controlPlane, "control-plane", false, "join as another control plane (needs --certificate-key): download the shared keys and run an API server")
	fl.StringVar(&f.certificateKey, "certificate-key", "", "the key `kastle init --upload-certs` printed")
	fl.StringVar(&f.advertiseAddress, "apiserver-advertise-address", "", "the IP this control plane's API server serves on (default: --node-ip)")
	fl.IntVar(&f.bindPort, "apiserver-bind-port", 6443, "this control plane's API server port")
	fl.DurationVar(&f.timeout, "discovery-timeout", 5*time.Minute, "how long to keep trying discovery")
	return cmd
}

// tokenDiscovery runs token discovery, retrying until the timeout while
// the API server cannot be reached (refusals are final).
func tokenDiscovery(ctx context.Context, out interface{ Write([]byte) (int, error) }, endpoint string, tok bootstraptoken.Token, f joinFlags) ([]byte, error) {
	fmt.Fprintf(out, "[discovery] Trying to connect to API Server %q\n", endpoint)
	deadline := time.Now().Add(f.timeout)
	for {
		res, err := cluster.Discover(ctx, cluster.Discovery{Endpoint: endpoint, Token: tok, CAPins: f.pins, UnsafeSkipCAVerification: f.unsafeSkipCA})
		if err == nil {
			fmt.Fprintf(out, "[discovery] Cluster info signature and contents are valid and the CA (%s) is pinned; API Server %q\n", res.CAPin, res.Server)
			return cluster.BootstrapKubeconfig(res, tok)
		}
		if !retryable(err) || time.Now().After(deadline) {
			return nil, err
		}
		fmt.Fprintf(out, "[discovery] %v; retrying\n", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// retryable: the server was not reachable; any answer it gave is final.
func retryable(err error) bool {
	var se syscall.Errno
	return errors.As(err, &se)
}

// fileDiscovery trusts the cluster of a kubeconfig file.
func fileDiscovery(path string, tok bootstraptoken.Token) ([]byte, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("--discovery-file: %w", err)
	}
	for _, c := range cfg.Clusters {
		if len(c.CertificateAuthorityData) == 0 {
			return nil, fmt.Errorf("--discovery-file %s: its cluster has no certificate-authority-data", path)
		}
		cas, err := pki.ParseCertsPEM(c.CertificateAuthorityData)
		if err != nil {
			return nil, fmt.Errorf("--discovery-file %s: %w", path, err)
		}
		return cluster.BootstrapKubeconfig(&cluster.Result{Server: c.Server, CAPEM: c.CertificateAuthorityData, CAPin: pki.CertPin(cas[0])}, tok)
	}
	return nil, fmt.Errorf("--discovery-file %s has no cluster", path)
}

// startAgent turns this process into the node agent, as kubeadm hands
// over to the kubelet.
func startAgent(cmd *cobra.Command, f joinFlags) error {
	agent, _, err := cmd.Root().Find([]string{"agent"})
	if err != nil || agent == nil || agent.Name() != "agent" {
		fmt.Fprintln(cmd.OutOrStdout(), "[kubelet-start] no node agent in this build: start it with `kastle agent --data-dir "+f.dataDir+"`")
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{self, "agent", "--data-dir", f.dataDir, "--node-ip", f.nodeIP, "--port", fmt.Sprint(f.port)}
	if f.nodeName != "" {
		args = append(args, "--node-name", f.nodeName)
	}
	fmt.Fprintln(cmd.OutOrStdout(), "[kubelet-start] Starting the node agent: TLS bootstrap follows")
	return syscall.Exec(self, args, os.Environ())
}

// joinControlPlane downloads the shared keys with the bootstrap
// credentials and becomes another API server on the same etcd.
func joinControlPlane(cmd *cobra.Command, f joinFlags, bootstrapConf string) error {
	out := cmd.OutOrStdout()
	if f.certificateKey == "" {
		return errors.New("--control-plane needs --certificate-key")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", bootstrapConf)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	stored, err := cluster.ReadStoredConfig(cmd.Context(), cs)
	if err != nil {
		return err
	}
	etcdCA, etcdCert, etcdKey, err := cluster.DownloadCerts(cmd.Context(), cs, f.dataDir, f.certificateKey)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "[download-certs] Downloading the certificates in Secret \"kastle-certs\" in the \"kube-system\" Namespace")
	addr := f.advertiseAddress
	if addr == "" {
		addr = f.nodeIP
	}
	args := []string{"server", "--data-dir", f.dataDir, "--bind-address", addr, "--secure-port", fmt.Sprint(f.bindPort)}
	if host, _, err := net.SplitHostPort(stored.ControlPlaneEndpoint); err == nil {
		args = append(args, "--apiserver-cert-extra-sans", host)
	}
	if len(stored.EtcdServers) == 0 {
		return errors.New("[control-plane-join] the cluster uses an embedded etcd: another control plane needs an external etcd cluster (kastle init --etcd-servers)")
	}
	args = append(args, "--etcd-servers", strings.Join(stored.EtcdServers, ","))
	if stored.EtcdPrefix != "" {
		args = append(args, "--etcd-prefix", stored.EtcdPrefix)
	}
	if etcdCA != "" {
		args = append(args, "--etcd-cafile", etcdCA, "--etcd-certfile", etcdCert, "--etcd-keyfile", etcdKey)
	}
	if stored.ServiceAccountIssuer != "" {
		args = append(args, "--service-account-issuer", stored.ServiceAccountIssuer)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "[control-plane-join] Starting an API server on %s:%d with the shared keys\n", addr, f.bindPort)
	return syscall.Exec(self, append([]string{self}, args...), os.Environ())
}

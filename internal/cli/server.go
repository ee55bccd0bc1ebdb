package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kastle-dev/kastle/internal/admission"
	"github.com/kastle-dev/kastle/internal/apiserver"
	"github.com/kastle-dev/kastle/internal/controllers/csrsigning"
)

func newServerCommand(logger func() *slog.Logger) *cobra.Command {
	cfg := apiserver.DefaultConfig()
	ctrl := newControllerFlags()
	var ephemeral bool
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: API server, embedded etcd and controllers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Log = logger()
			ctrl.apply(&cfg.Controllers, csrsigning.CAFiles{})
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if ephemeral {
				return runEphemeral(ctx, cmd, cfg)
			}
			if cfg.DataDir == "" {
				return errors.New("--data-dir is required (or --ephemeral for a throwaway server)")
			}
			return apiserver.Run(ctx, cfg, nil)
		},
	}
	addServerFlags(cmd.Flags(), &cfg, ctrl)
	cmd.Flags().BoolVar(&ephemeral, "ephemeral", false, "a throwaway server for tests in any language: a temporary data dir removed on exit, a free port (unless --secure-port is given), no fsync; prints one JSON line {\"url\",\"kubeconfig\",\"dataDir\"} on stdout when ready")
	return cmd
}

// ephemeralReady is the line `kastle server --ephemeral` prints on
// stdout once it serves, for test harnesses in other languages.
type ephemeralReady struct {
	URL        string `json:"url"`
	Kubeconfig string `json:"kubeconfig"`
	DataDir    string `json:"dataDir"`
}

// runEphemeral runs the server on a fresh temporary data dir and removes
// it when the server stops.
func runEphemeral(ctx context.Context, cmd *cobra.Command, cfg apiserver.Config) error {
	if cfg.DataDir != "" {
		return errors.New("--ephemeral makes its own data dir: do not give --data-dir")
	}
	dir, err := os.MkdirTemp("", "kastle-ephemeral-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DataDir = dir
	if !cmd.Flags().Changed("secure-port") {
		cfg.SecurePort = 0
	}
	// Nothing of a throwaway cluster needs to survive a crash.
	cfg.EtcdUnsafeNoFsync = true
	out := cmd.OutOrStdout()
	var writeErr error
	err = apiserver.Run(ctx, cfg, func(url, kubeconfigPath string) {
		line, _ := json.Marshal(ephemeralReady{URL: url, Kubeconfig: kubeconfigPath, DataDir: dir})
		_, writeErr = fmt.Fprintf(out, "%s\n", line)
	})
	if err == nil && writeErr != nil {
		err = fmt.Errorf("printing the ready line: %w", writeErr)
	}
	return err
}

// addServerFlags binds kube-apiserver's flags (and the in-process
// controller manager's) to cfg; `kastle server` and `kastle init` share
// them.
func addServerFlags(f *pflag.FlagSet, cfg *apiserver.Config, ctrl *controllerFlags) {
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the PKI, kubeconfigs and the embedded etcd (required)")
	f.IntVar(&cfg.SecurePort, "secure-port", cfg.SecurePort, "HTTPS port; 0 picks a free port")
	f.StringVar(&cfg.BindAddress, "bind-address", cfg.BindAddress, "IP address to serve on")
	f.StringVar(&cfg.AdvertiseAddress, "advertise-address", "", "address the kubernetes Service's endpoints publish (default: --bind-address, or this host's first global unicast address when binding to all)")
	f.StringVar(&cfg.ServiceClusterIPRange, "service-cluster-ip-range", cfg.ServiceClusterIPRange, "CIDR(s) Services' cluster IPs come from: one, or an IPv4 and an IPv6 one separated by a comma")
	f.StringVar(&cfg.ServiceNodePortRange, "service-node-port-range", cfg.ServiceNodePortRange, "port range Services' node ports come from (FROM-TO)")
	f.StringSliceVar(&cfg.ExtraSANs, "apiserver-cert-extra-sans", nil, "extra subject alternative names (IPs or DNS names) for the serving certificate")
	f.StringSliceVar(&cfg.EtcdServers, "etcd-servers", nil, "external etcd endpoints (https://host:port); empty runs an embedded etcd")
	f.StringVar(&cfg.EtcdCAFile, "etcd-cafile", "", "CA bundle verifying the external etcd")
	f.StringVar(&cfg.EtcdCertFile, "etcd-certfile", "", "client certificate for the external etcd")
	f.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", "", "client key for the external etcd")
	f.StringVar(&cfg.EtcdPrefix, "etcd-prefix", cfg.EtcdPrefix, "key prefix of every object in etcd")
	f.DurationVar(&cfg.EtcdCompactionInterval, "etcd-compaction-interval", cfg.EtcdCompactionInterval, "how often to compact etcd history; 0 disables")
	f.Float64Var(&cfg.EtcdDefragmentThreshold, "etcd-defragment-threshold", cfg.EtcdDefragmentThreshold, "embedded etcd: after a compaction, defragment its file when at least this fraction of it (and 32 MiB) is free space; 0 disables")
	f.IntVar(&cfg.MaxRequestsInFlight, "max-requests-inflight", cfg.MaxRequestsInFlight, "maximum concurrent read-only requests (watches excluded)")
	f.IntVar(&cfg.MaxMutatingInFlight, "max-mutating-requests-inflight", cfg.MaxMutatingInFlight, "maximum concurrent mutating requests")
	f.DurationVar(&cfg.MinRequestTimeout, "min-request-timeout", cfg.MinRequestTimeout, "a watch without timeoutSeconds lasts between one and two times this")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long SIGTERM waits for in-flight requests")
	f.IntVar(&cfg.InsecurePort, "insecure-port", 0, "serve plain HTTP on 127.0.0.1:PORT with no authentication (every request an administrator's); 0 disables (default)")
	f.BoolVar(&cfg.Profiling, "profiling", false, "serve /debug/pprof to authorized users")
	f.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "serving certificate (PEM) instead of the generated pki/apiserver.crt; re-read when it changes")
	f.StringVar(&cfg.TLSPrivateKeyFile, "tls-private-key-file", "", "private key of --tls-cert-file")
	f.StringVar(&cfg.ClientCAFile, "client-ca-file", "", "CA bundle that signs client certificates (default: the cluster CA pki/ca.crt); re-read when it changes")
	f.StringVar(&cfg.RequestHeaderClientCAFile, "requestheader-client-ca-file", "", "CA bundle of front-proxy client certificates whose requests carry the user in headers (default: pki/front-proxy-ca.crt, created on first start)")
	f.StringSliceVar(&cfg.RequestHeaderAllowedNames, "requestheader-allowed-names", nil, "common names a front-proxy client certificate may have; empty allows any (default with the generated CA: front-proxy-client)")
	f.StringSliceVar(&cfg.RequestHeaderUsernameHeaders, "requestheader-username-headers", []string{"X-Remote-User"}, "request headers naming the user, first non-empty one wins")
	f.StringSliceVar(&cfg.RequestHeaderGroupHeaders, "requestheader-group-headers", []string{"X-Remote-Group"}, "request headers naming the user's groups")
	f.StringSliceVar(&cfg.RequestHeaderExtraHeadersPrefix, "requestheader-extra-headers-prefix", []string{"X-Remote-Extra-"}, "prefixes of request headers carrying the user's extra information")
	f.StringVar(&cfg.ProxyClientCertFile, "proxy-client-cert-file", "", "client certificate presented to aggregated API servers (default: pki/front-proxy-client.crt, created on first start)")
	f.StringVar(&cfg.ProxyClientKeyFile, "proxy-client-key-file", "", "private key of --proxy-client-cert-file")
	f.BoolVar(&cfg.EnableAggregatorRouting, "enable-aggregator-routing", true, "send aggregated API requests to an endpoint address of the APIService's Service (kastle runs no service proxy, hence true by default); false dials the Service's cluster IP")
	f.StringVar(&cfg.TLSMinVersion, "tls-min-version", "VersionTLS12", "minimum TLS version: VersionTLS12 or VersionTLS13")
	f.StringSliceVar(&cfg.TLSCipherSuites, "tls-cipher-suites", nil, "TLS 1.2 cipher suites (IANA names); default: Go's secure defaults")
	f.BoolVar(&cfg.AnonymousAuth, "anonymous-auth", cfg.AnonymousAuth, "let requests without credentials in as system:anonymous (limited by authorization)")
	f.StringSliceVar(&cfg.EnableAdmissionPlugins, "enable-admission-plugins", nil, "admission plugins to turn on besides the default ones ("+strings.Join(admission.Names(), ", ")+")")
	f.StringSliceVar(&cfg.DisableAdmissionPlugins, "disable-admission-plugins", nil, "default admission plugins to turn off")
	f.StringSliceVar(&cfg.AuthorizationModes, "authorization-mode", cfg.AuthorizationModes, "ordered authorizers: Node, RBAC, AlwaysAllow, AlwaysDeny")
	f.StringVar(&cfg.TokenAuthFile, "token-auth-file", "", "CSV of static bearer tokens: token,user,uid,\"group1,group2\" (re-read on change)")
	f.StringVar(&cfg.BasicAuthFile, "basic-auth-file", "", "CSV of passwords: password,user,uid[,\"groups\"] (deprecated in Kubernetes; off unless set)")
	f.StringVar(&cfg.ClientCertRevocationFile, "client-cert-revocation-file", "", "PEM CRL signed by a client CA, or hex serial numbers one per line, of revoked client certificates (re-read on change)")
	f.BoolVar(&cfg.EnableBootstrapTokenAuth, "enable-bootstrap-token-auth", cfg.EnableBootstrapTokenAuth, "accept bootstrap tokens (kube-system/bootstrap-token-<id> Secrets)")
	f.StringSliceVar(&cfg.ServiceAccountKeyFiles, "service-account-key-file", nil, "public keys verifying service-account tokens (default: pki/sa.pub)")
	f.StringVar(&cfg.ServiceAccountSigningKeyFile, "service-account-signing-key-file", "", "private key signing service-account tokens (default: pki/sa.key, created on first start)")
	f.StringVar(&cfg.ServiceAccountIssuer, "service-account-issuer", cfg.ServiceAccountIssuer, "issuer (iss) of service-account tokens")
	f.StringSliceVar(&cfg.APIAudiences, "api-audiences", nil, "audiences a service-account token must name (default: the issuer)")
	f.BoolVar(&cfg.ServiceAccountLookup, "service-account-lookup", cfg.ServiceAccountLookup, "require the ServiceAccount of a token to exist")
	f.StringVar(&cfg.AuditLogPath, "audit-log-path", "", "write audit events (JSON lines) to this file, or - for stdout")
	f.StringVar(&cfg.AuditPolicyFile, "audit-policy-file", "", "audit.k8s.io/v1 Policy deciding what is logged")
	f.IntVar(&cfg.AuditLogMaxSize, "audit-log-maxsize", 100, "rotate the audit log when it reaches this many megabytes")
	f.IntVar(&cfg.AuditLogMaxBackup, "audit-log-maxbackup", 0, "rotated audit logs to keep (0: all)")
	f.IntVar(&cfg.AuditLogMaxAge, "audit-log-maxage", 0, "days to keep rotated audit logs (0: forever)")
	f.StringVar(&cfg.EncryptionProviderConfig, "encryption-provider-config", "", "EncryptionConfiguration for encrypting resources (e.g. secrets) at rest")
	f.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "deadline of every request but watches")
	f.StringVar(&cfg.KubeletClientCertificate, "kubelet-client-certificate", "", "client certificate towards node agents (default: pki/apiserver-kubelet-client.crt, created)")
	f.StringVar(&cfg.KubeletClientKey, "kubelet-client-key", "", "key of --kubelet-client-certificate")
	f.StringVar(&cfg.KubeletCertificateAuthority, "kubelet-certificate-authority", "", "CA bundle verifying node agents' serving certificates (default: the cluster CA)")
	f.DurationVar(&cfg.CertificateValidity, "certificate-validity-period", 0, "lifetime of the control plane's leaf certificates (default one year); they are renewed at 70-90 % of it")
	f.BoolVar(&cfg.RunControllers, "run-controllers", cfg.RunControllers, "run the controller manager in-process (turn off when `kastle controller-manager` runs them)")
	ctrl.add(f, &cfg.Controllers, " (default: the cluster CA, pki/ca.crt and pki/ca.key)")
}

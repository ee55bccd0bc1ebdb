package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kastle-dev/kastle/internal/caserver"
	"github.com/kastle-dev/kastle/internal/pki"
)

// newCACommand returns `kastle ca` with serve, request, initca and gencert.
func newCACommand(logger func() *slog.Logger) *cobra.Command {
	ca := &cobra.Command{
		Use:   "ca",
		Short: "The standalone CA service and cfssl-compatible issuing",
	}
	ca.AddCommand(newCAServeCommand(logger), newCARequestCommand(), newCARevokeCommand(), newCAInitCACommand(),
		newCAGenCertCommand())
	return ca
}

// caServeFlags is `kastle ca serve`'s flag-bound configuration.
type caServeFlags struct {
	cfg caserver.Config
	alg string
}

func newCAServeCommand(logger func() *slog.Logger) *cobra.Command {
	f := &caServeFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the CA service (HTTPS or gRPC, with mutual TLS by default)",
		Long: `Run the CA service. The first start creates DIR/ca.crt and ca.key, the serving
certificate and the client identity DIR/client-admin.crt/.key; later starts
reuse them. Issued certificates are recorded in DIR/issued.jsonl.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.cfg.Logger = logger()
			f.cfg.KeyAlgorithm = pki.KeyAlgorithm(f.alg)
			if err := f.cfg.KeyAlgorithm.Validate(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return caserver.Run(ctx, f.cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.Dir, "dir", "ca-data", "directory of the CA's files and issuance journal")
	fl.StringVar(&f.cfg.Listen, "listen", "127.0.0.1:8112", "HOST:PORT to serve on")
	fl.BoolVar(&f.cfg.GRPC, "grpc", true, "serve the gRPC API instead of HTTPS")
	fl.BoolVar(&f.cfg.MTLS, "mtls", true, "require client certificates signed by the CA")
	fl.StringVar(&f.cfg.TokenFile, "token-file", "", `bearer tokens, one "token,name" per line (needed with --mtls=false)`)
	fl.StringVar(&f.cfg.PolicyFile, "policy-file", "", "who may request what (YAML or JSON); default: client-admin may do anything")
	fl.StringSliceVar(&f.cfg.Hosts, "hosts", nil, "extra SANs of the serving certificate")
	fl.StringVar(&f.cfg.CAKeyPasswordFile, "ca-key-password-file", "", "file whose first line encrypts DIR/ca.key at rest")
	fl.StringVar(&f.alg, "encryption-algorithm", string(pki.DefaultKeyAlgorithm), fmt.Sprintf("key algorithm of new keys %v", pki.KeyAlgorithms()))
	return cmd
}

// caRequestFlags is `kastle ca request`'s flag-bound configuration.
type caRequestFlags struct {
	cfg caserver.RequestConfig
	alg string
}

func newCARequestCommand() *cobra.Command {
	f := &caRequestFlags{}
	cmd := &cobra.Command{
		Use:   "request",
		Short: "Request a certificate from a CA service; the key is made here and stays here",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.cfg.KeyAlgorithm = pki.KeyAlgorithm(f.alg)
			if err := f.cfg.KeyAlgorithm.Validate(); err != nil {
				return err
			}
			if err := caserver.Request(cmd.Context(), f.cfg); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s.crt and %s.key\n", f.cfg.Out, f.cfg.Out)
			return nil
		},
	}
	fl := cmd.Flags()
	addClientFlags(cmd, &f.cfg.ClientConfig)
	fl.StringVar(&f.cfg.CN, "cn", "", "common name of the certificate")
	fl.StringSliceVar(&f.cfg.Hosts, "hosts", nil, "SANs: DNS names, IPs, URIs (scheme://…), emails")
	fl.StringVar(&f.cfg.Profile, "profile", "", "signing profile (default: the service's)")
	fl.StringVar(&f.cfg.Out, "out", "", "prefix of the files written: PREFIX.crt, PREFIX.key (0600)")
	fl.StringVar(&f.alg, "encryption-algorithm", string(pki.DefaultKeyAlgorithm), fmt.Sprintf("key algorithm %v", pki.KeyAlgorithms()))
	return cmd
}

// addClientFlags binds how to reach and authenticate to a CA service.
func addClientFlags(cmd *cobra.Command, c *caserver.ClientConfig) {
	fl := cmd.Flags()
	fl.StringVar(&c.Server, "server", "", "HOST:PORT of the CA service")
	fl.BoolVar(&c.GRPC, "grpc", false, "use the gRPC API")
	fl.StringVar(&c.CAFile, "ca-file", "", "CA certificate to verify the service with")
	fl.StringVar(&c.CertFile, "cert", "", "client certificate (mTLS)")
	fl.StringVar(&c.KeyFile, "key", "", "client key (mTLS)")
	fl.StringVar(&c.TokenFile, "token-file", "", "file whose first line is a bearer token (without mTLS)")
}

// caRevokeFlags is `kastle ca revoke`'s flag-bound configuration.
type caRevokeFlags struct {
	client caserver.ClientConfig
	id     string
	reason int
}

func newCARevokeCommand() *cobra.Command {
	f := &caRevokeFlags{}
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke a certificate at a CA service (it then appears in the CRL and OCSP answers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rec, err := caserver.Revoke(cmd.Context(), f.client, f.id, f.reason)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), rec)
		},
	}
	addClientFlags(cmd, &f.client)
	cmd.Flags().StringVar(&f.id, "id", "", "certificate id: its serial in hex (openssl's spelling works too)")
	cmd.Flags().IntVar(&f.reason, "reason", 0, "RFC 5280 reason code (1 keyCompromise, 4 superseded, 5 cessationOfOperation)")
	return cmd
}

// printJSON writes v as cfssl does: indented JSON on stdout.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// readArg reads a file argument ("-" is stdin).
func readArg(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(name)
}

func newCAInitCACommand() *cobra.Command {
	return &cobra.Command{
		Use:   "initca CSRJSON",
		Short: "Make a self-signed CA from a cfssl csr.json; prints cfssl's JSON (pipe into cfssljson -bare)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readArg(cmd, args[0])
			if err != nil {
				return err
			}
			out, err := caserver.InitCA(data)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
}

// genCertFlags is `kastle ca gencert`'s configuration.
type genCertFlags struct {
	ca, caKey, config, profile, hostname string
}

func newCAGenCertCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "gencert -ca ca.pem -ca-key ca-key.pem -config ca-config.json [-profile P] CSRJSON",
		Short: "Issue a key and certificate from a cfssl csr.json; prints cfssl's JSON (pipe into cfssljson -bare)",
		// cfssl's single-dash flags (-ca, -ca-key) are Go flag syntax, which
		// pflag would read as shorthand clusters; parse them with package flag.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			var f genCertFlags
			fs := flag.NewFlagSet("gencert", flag.ContinueOnError)
			fs.SetOutput(cmd.ErrOrStderr())
			fs.StringVar(&f.ca, "ca", "", "CA certificate (PEM)")
			fs.StringVar(&f.caKey, "ca-key", "", "CA private key (PEM)")
			fs.StringVar(&f.config, "config", "", "cfssl ca-config.json")
			fs.StringVar(&f.profile, "profile", "", "signing profile (default: the config's default)")
			fs.StringVar(&f.hostname, "hostname", "", "comma-separated hosts, replacing the csr.json's")
			if err := fs.Parse(args); err != nil {
				if err == flag.ErrHelp {
					return cmd.Help()
				}
				return err
			}
			if f.ca == "" || f.caKey == "" || f.config == "" || fs.NArg() != 1 {
				return fmt.Errorf("usage: kastle ca %s", cmd.Use)
			}
			certPEM, err := os.ReadFile(f.ca)
			if err != nil {
				return err
			}
			keyPEM, err := os.ReadFile(f.caKey)
			if err != nil {
				return err
			}
			ca, err := pki.LoadCA(certPEM, keyPEM, nil)
			if err != nil {
				return err
			}
			cfgJSON, err := os.ReadFile(f.config)
			if err != nil {
				return err
			}
			cfg, err := pki.ParseSigningConfig(cfgJSON)
			if err != nil {
				return err
			}
			data, err := readArg(cmd, fs.Arg(0))
			if err != nil {
				return err
			}
			var hosts []string
			if f.hostname != "" {
				hosts = strings.Split(f.hostname, ",")
			}
			out, err := caserver.GenCert(ca, cfg, f.profile, data, hosts)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
}

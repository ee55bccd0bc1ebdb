package cli

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/pki"
)

// DefaultTokenGroup is the extra group of tokens made for joining nodes,
// kubeadm's default.
const DefaultTokenGroup = "system:bootstrappers:kubeadm:default-node-token"

func newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage bootstrap tokens (as kubeadm token)"}
	cmd.AddCommand(newTokenGenerateCommand(), newTokenCreateCommand(), newTokenListCommand(), newTokenDeleteCommand())
	return cmd
}

func newTokenGenerateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "generate",
		Short: "Print a random bootstrap token (nothing is stored)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := bootstraptoken.Generate()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), t)
			return nil
		},
	}
}

func newTokenCreateCommand() *cobra.Command {
	var (
		access      clusterAccess
		ttl         time.Duration
		usages      []string
		groups      []string
		description string
		printJoin   bool
	)
	cmd := &cobra.Command{
		Use:   "create [TOKEN]",
		Short: "Create a bootstrap token (random unless given) and print it",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var tok bootstraptoken.Token
			var err error
			if len(args) == 1 {
				tok, err = bootstraptoken.Parse(args[0])
			} else {
				tok, err = bootstraptoken.Generate()
			}
			if err != nil {
				return err
			}
			info := bootstraptoken.Info{Token: tok, Usages: usages, ExtraGroups: groups, Description: description}
			if ttl > 0 {
				info.Expiration = time.Now().Add(ttl)
			}
			if slices.Contains(usages, bootstraptoken.UsageAuthentication) && len(groups) == 0 {
				return errors.New("--groups is empty: an authentication token needs at least one system:bootstrappers:... group")
			}
			sec, err := info.Secret()
			if err != nil {
				return err
			}
			cs, err := access.clientset()
			if err != nil {
				return err
			}
			if _, err := cs.CoreV1().Secrets(bootstraptoken.Namespace).Create(cmd.Context(), sec, metav1.CreateOptions{FieldManager: "kastle-token"}); err != nil {
				if apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("a token with id %q already exists", tok.ID)
				}
				return fmt.Errorf("creating the token: %w", err)
			}
			if !printJoin {
				fmt.Fprintln(cmd.OutOrStdout(), tok)
				return nil
			}
			rc, err := access.config()
			if err != nil {
				return err
			}
			join, err := joinCommand(rc, access, tok)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), join)
			return nil
		},
	}
	access.addFlags(cmd)
	f := cmd.Flags()
	f.DurationVar(&ttl, "ttl", 24*time.Hour, "how long the token is valid (0: forever)")
	f.StringSliceVar(&usages, "usages", []string{bootstraptoken.UsageSigning, bootstraptoken.UsageAuthentication}, "what the token may be used for: signing (cluster-info), authentication")
	f.StringSliceVar(&groups, "groups", []string{DefaultTokenGroup}, "extra groups the token authenticates as (system:bootstrappers:...)")
	f.StringVar(&description, "description", "", "a human-readable note stored with the token")
	f.BoolVar(&printJoin, "print-join-command", false, "print the whole `kastle join` command instead of the token")
	return cmd
}

// joinCommand is what a node runs to join: the API server's host:port,
// the token and the CA pin.
func joinCommand(rc *rest.Config, access clusterAccess, tok bootstraptoken.Token) (string, error) {
	u, err := url.Parse(rc.Host)
	if err != nil {
		return "", fmt.Errorf("server URL %q: %w", rc.Host, err)
	}
	caPEM := rc.TLSClientConfig.CAData
	if len(caPEM) == 0 && rc.TLSClientConfig.CAFile != "" {
		if caPEM, err = os.ReadFile(rc.TLSClientConfig.CAFile); err != nil {
			return "", err
		}
	}
	if len(caPEM) == 0 && access.dataDir != "" {
		if caPEM, err = os.ReadFile(filepath.Join(pki.PKIDir(access.dataDir), "ca.crt")); err != nil {
			return "", err
		}
	}
	certs, err := pki.ParseCertsPEM(caPEM)
	if err != nil {
		return "", fmt.Errorf("the cluster CA: %w", err)
	}
	return fmt.Sprintf("kastle join %s --token %s --discovery-token-ca-cert-hash %s", u.Host, tok, pki.CertPin(certs[len(certs)-1])), nil
}

func newTokenListCommand() *cobra.Command {
	var access clusterAccess
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List bootstrap tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := access.clientset()
			if err != nil {
				return err
			}
			list, err := cs.CoreV1().Secrets(bootstraptoken.Namespace).List(cmd.Context(), metav1.ListOptions{FieldSelector: "type=" + string(bootstraptoken.SecretType)})
			if err != nil {
				return fmt.Errorf("listing tokens: %w", err)
			}
			var infos []bootstraptoken.Info
			for i := range list.Items {
				info, err := bootstraptoken.FromSecret(&list.Items[i])
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "[token] skipping %s: %v\n", list.Items[i].Name, err)
					continue
				}
				infos = append(infos, info)
			}
			sort.Slice(infos, func(i, j int) bool { return infos[i].Token.ID < infos[j].Token.ID })
			now := time.Now()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "TOKEN\tTTL\tEXPIRES\tUSAGES\tDESCRIPTION\tEXTRA GROUPS")
			for _, in := range infos {
				ttl, expires := "<forever>", "<never>"
				if !in.Expiration.IsZero() {
					expires = in.Expiration.UTC().Format(time.RFC3339)
					if left := in.Expiration.Sub(now); left > 0 {
						ttl = left.Round(time.Second).String()
					} else {
						ttl = "<invalid>"
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Token, ttl, expires, dash(strings.Join(in.Usages, ",")), dash(in.Description), dash(strings.Join(in.ExtraGroups, ",")))
			}
			return tw.Flush()
		},
	}
	access.addFlags(cmd)
	return cmd
}

func newTokenDeleteCommand() *cobra.Command {
	var access clusterAccess
	cmd := &cobra.Command{
		Use:   "delete TOKEN|ID...",
		Short: "Delete bootstrap tokens",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := access.clientset()
			if err != nil {
				return err
			}
			for _, a := range args {
				id, _, _ := strings.Cut(a, ".")
				if _, err := bootstraptoken.Parse(id + ".0123456789abcdef"); err != nil {
					return fmt.Errorf("%q is neither a token nor a token id", a)
				}
				if err := cs.CoreV1().Secrets(bootstraptoken.Namespace).Delete(cmd.Context(), bootstraptoken.SecretPrefix+id, metav1.DeleteOptions{}); err != nil {
					if apierrors.IsNotFound(err) {
						return fmt.Errorf("no token with id %q", id)
					}
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "bootstrap token %q deleted\n", id)
			}
			return nil
		},
	}
	access.addFlags(cmd)
	return cmd
}

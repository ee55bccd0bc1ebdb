package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kastle-dev/kastle/internal/certrecord"
	"github.com/kastle-dev/kastle/internal/certrenewal"
	"github.com/kastle-dev/kastle/internal/pki"
	"github.com/kastle-dev/kastle/internal/pki/kubeconfig"
)

// clusterAccess locates a cluster for the commands that talk to it: an
// explicit --kubeconfig, else DATA_DIR/admin.conf.
type clusterAccess struct {
	dataDir, kubeconfig string
}

func (c *clusterAccess) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.dataDir, "data-dir", "", "the cluster's data directory (its admin.conf is used unless --kubeconfig is given)")
	cmd.Flags().StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig of a cluster administrator")
}

func (c *clusterAccess) config() (*rest.Config, error) {
	path := c.kubeconfig
	if path == "" {
		if c.dataDir == "" {
			return nil, errors.New("--data-dir or --kubeconfig is required")
		}
		path = filepath.Join(c.dataDir, "admin.conf")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	rc.UserAgent = "kastle-cli"
	return rc, nil
}

// clientset is a typed client for the cluster.
func (c *clusterAccess) clientset() (*kubernetes.Clientset, error) {
	rc, err := c.config()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}

// dynamic is a dynamic client for the cluster (IssuedCertificates).
func (c *clusterAccess) dynamic() (dynamic.Interface, error) {
	rc, err := c.config()
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(rc)
}

func newCertsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "certs", Short: "Inspect, list and revoke the cluster's certificates (as kubeadm certs)"}
	cmd.AddCommand(newCertsCheckExpirationCommand(), newCertsListCommand(), newCertsRevokeCommand(), newCertsRenewCommand(), newCertsEtcdClusterCommand(), newCertsGenerateCSRCommand())
	return cmd
}

// newCertsCheckExpirationCommand prints kubeadm's table of the data
// directory's certificates.
func newCertsCheckExpirationCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "check-expiration",
		Short: "Show when each certificate of a data directory expires",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				return errors.New("--data-dir is required")
			}
			return checkExpiration(cmd.OutOrStdout(), dataDir, time.Now())
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the cluster's data directory")
	return cmd
}

// checkExpiration writes the leaf table, then the CA table.
func checkExpiration(w io.Writer, dataDir string, now time.Time) error {
	pkiDir := pki.PKIDir(dataDir)
	type row struct {
		name, ca string
		cert     *x509.Certificate
		external bool
		err      error
	}
	var leaves, cas []row
	for _, f := range pki.Layout() {
		r := row{name: f.Name, ca: f.CA}
		var path string
		if f.Kubeconfig != "" {
			r.name = filepath.Base(f.Kubeconfig)
			path = filepath.Join(dataDir, filepath.FromSlash(f.Kubeconfig))
			r.cert, r.err = kubeconfig.ClientCert(path)
		} else {
			path = f.CertPath(pkiDir)
			data, err := os.ReadFile(path)
			if err == nil {
				var certs []*x509.Certificate
				if certs, err = pki.ParseCertsPEM(data); err == nil {
					r.cert = certs[0]
				}
			}
			r.err = err
		}
		if errors.Is(r.err, os.ErrNotExist) {
			continue // not part of this cluster (yet)
		}
		if f.CA == "" {
			// A CA without its key here is managed outside kastle.
			_, err := os.Stat(f.KeyPath(pkiDir))
			r.external = errors.Is(err, os.ErrNotExist)
			cas = append(cas, r)
			continue
		}
		leaves = append(leaves, r)
	}
	externalCA := map[string]bool{}
	for _, c := range cas {
		externalCA[c.name] = c.external
	}
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "CERTIFICATE\tEXPIRES\tRESIDUAL TIME\tCERTIFICATE AUTHORITY\tEXTERNALLY MANAGED")
	for _, r := range leaves {
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t!MISSING OR INVALID: %v\t\t%s\t%s\n", r.name, r.err, r.ca, yesNo(externalCA[r.ca]))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.name, r.cert.NotAfter.UTC().Format("Jan 02, 2006 15:04 MST"), residual(r.cert.NotAfter, now), r.ca, yesNo(externalCA[r.ca]))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "CERTIFICATE AUTHORITY\tEXPIRES\tRESIDUAL TIME\tEXTERNALLY MANAGED")
	for _, r := range cas {
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t!MISSING OR INVALID: %v\t\t%s\n", r.name, r.err, yesNo(r.external))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.name, r.cert.NotAfter.UTC().Format("Jan 02, 2006 15:04 MST"), residual(r.cert.NotAfter, now), yesNo(r.external))
	}
	return tw.Flush()
}

// residual renders time left as kubeadm does: 9y, 364d, 23h, 59m, or
// <invalid> once expired.
func residual(notAfter, now time.Time) string {
	d := notAfter.Sub(now)
	switch {
	case d <= 0:
		return "<invalid>"
	case d >= 365*24*time.Hour:
		return fmt.Sprintf("%dy", int(d/(365*24*time.Hour)))
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
}

func newCertsListCommand() *cobra.Command {
	var access clusterAccess
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every certificate the cluster's CAs issued: who holds what, until when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dyn, err := access.dynamic()
			if err != nil {
				return err
			}
			list, err := dyn.Resource(certrecord.GVR).List(cmd.Context(), metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("listing issued certificates: %w", err)
			}
			var recs []certrecord.Record
			for i := range list.Items {
				r, err := certrecord.FromObject(&list.Items[i])
				if err != nil {
					return err
				}
				recs = append(recs, r)
			}
			sort.Slice(recs, func(i, j int) bool { return recs[i].NotAfter.Before(recs[j].NotAfter) })
			now := time.Now()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tSUBJECT\tSANS\tSIGNER\tREQUESTER\tCSR\tEXPIRES\tSTATUS")
			for _, r := range recs {
				status := "valid"
				switch {
				case r.Revoked != nil:
					status = "revoked"
				case now.After(r.NotAfter):
					status = "expired"
				}
				sans := strings.Join(append(append(append([]string{}, r.DNSNames...), r.IPAddresses...), append(r.URIs, r.Emails...)...), ",")
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Serial, r.Subject, dash(sans), dash(r.Signer), dash(r.Requester), dash(r.CSRName),
					r.NotAfter.UTC().Format(time.RFC3339), status)
			}
			return tw.Flush()
		},
	}
	access.addFlags(cmd)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newCertsRevokeCommand() *cobra.Command {
	var (
		access clusterAccess
		reason string
	)
	cmd := &cobra.Command{
		Use:   "revoke SERIAL",
		Short: "Revoke an issued certificate: the API server refuses it from the next request on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			serial := strings.ToLower(strings.ReplaceAll(args[0], ":", ""))
			serial = strings.TrimLeft(serial, "0")
			rc, err := access.config()
			if err != nil {
				return err
			}
			by, err := whoAmI(cmd.Context(), rc)
			if err != nil {
				return err
			}
			dyn, err := dynamic.NewForConfig(rc)
			if err != nil {
				return err
			}
			patch := fmt.Sprintf(`{"spec":{"revocation":{"revokedAt":%q,"reason":%q,"revokedBy":%q}}}`,
				time.Now().UTC().Format(time.RFC3339), reason, by)
			if _, err := dyn.Resource(certrecord.GVR).Patch(cmd.Context(), serial, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kastle-certs-revoke"}); err != nil {
				return fmt.Errorf("revoking %s: %w", serial, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "[certs] revoked certificate %s\n", serial)
			return nil
		},
	}
	access.addFlags(cmd)
	cmd.Flags().StringVar(&reason, "reason", "unspecified", "why (keyCompromise, superseded, cessationOfOperation, ...)")
	return cmd
}

// whoAmI names the caller, for the record of who revoked what.
func whoAmI(ctx context.Context, rc *rest.Config) (string, error) {
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return "", err
	}
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("asking the server who we are: %w", err)
	}
	return r.Status.UserInfo.Username, nil
}

// newCertsRenewCommand reissues certificates of a data directory with the
// same subject, SANs and usages; a running server follows the files.
func newCertsRenewCommand() *cobra.Command {
	var (
		dataDir  string
		validity time.Duration
	)
	cmd := &cobra.Command{
		Use:   "renew NAME|all",
		Short: "Renew a certificate of a data directory (same subject and SANs); a running server picks it up",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dataDir == "" {
				return errors.New("--data-dir is required")
			}
			pkiDir := pki.PKIDir(dataDir)
			ca, err := loadCA(filepath.Join(pkiDir, "ca.crt"), filepath.Join(pkiDir, "ca.key"))
			if err != nil {
				return err
			}
			var renewable []string
			for _, f := range pki.Layout() {
				if f.CA != "" {
					renewable = append(renewable, rowDisplayName(f))
				}
			}
			want := args[0]
			if want != "all" && !slices.Contains(renewable, want) {
				return fmt.Errorf("unknown certificate %q (renewable: %s, all)", want, strings.Join(renewable, ", "))
			}
			for _, f := range pki.Layout() {
				name := rowDisplayName(f)
				if f.CA == "" || (want != "all" && want != name) {
					continue
				}
				var cert *x509.Certificate
				if f.Kubeconfig != "" {
					path := filepath.Join(dataDir, filepath.FromSlash(f.Kubeconfig))
					old, err := kubeconfig.ClientCert(path)
					if errors.Is(err, os.ErrNotExist) && want == "all" {
						continue
					}
					if err != nil {
						return err
					}
					cert, err = kubeconfig.Reissue(path, ca, kubeconfig.Spec{Cert: certrenewal.SpecOf(old, validity)})
					if err != nil {
						return fmt.Errorf("renewing %s: %w", name, err)
					}
				} else {
					certFile, keyFile := f.CertPath(pkiDir), f.KeyPath(pkiDir)
					data, err := os.ReadFile(certFile)
					if errors.Is(err, os.ErrNotExist) && want == "all" {
						continue
					}
					if err != nil {
						return err
					}
					olds, err := pki.ParseCertsPEM(data)
					if err != nil {
						return fmt.Errorf("%s: %w", certFile, err)
					}
					if cert, err = certrenewal.RenewPair(ca, certrenewal.SpecOf(olds[0], validity), certFile, keyFile); err != nil {
						return fmt.Errorf("renewing %s: %w", name, err)
					}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "[certs] certificate %s renewed (serial %x, expires %s)\n", name, cert.SerialNumber, cert.NotAfter.UTC().Format(time.RFC3339))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the cluster's data directory")
	cmd.Flags().DurationVar(&validity, "validity-period", 0, "lifetime of the renewed certificates (default: the same as before)")
	return cmd
}

// rowDisplayName is how kubeadm names a layout row: the kubeconfig file,
// or the certificate's name.
func rowDisplayName(f pki.CertFile) string {
	if f.Kubeconfig != "" {
		return filepath.Base(f.Kubeconfig)
	}
	return f.Name
}

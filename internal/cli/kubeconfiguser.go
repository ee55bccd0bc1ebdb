package cli

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kastle-dev/kastle/internal/certrecord"
	"github.com/kastle-dev/kastle/internal/pki"
	"github.com/kastle-dev/kastle/internal/pki/kubeconfig"
)

func newKubeconfigCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "kubeconfig", Short: "Make kubeconfig files (as kubeadm kubeconfig)"}
	cmd.AddCommand(newKubeconfigUserCommand())
	return cmd
}

// newKubeconfigUserCommand issues a client certificate from the data
// directory's CA and prints a kubeconfig embedding it, recording the
// issuance in the cluster.
func newKubeconfigUserCommand() *cobra.Command {
	var (
		dataDir, client, server string
		orgs                    []string
		validity                time.Duration
	)
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Print a kubeconfig for a user (client certificate CN = user, O = groups) signed by the cluster CA",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" || client == "" {
				return errors.New("--data-dir and --client-name are required")
			}
			pkiDir := pki.PKIDir(dataDir)
			ca, err := loadCA(filepath.Join(pkiDir, "ca.crt"), filepath.Join(pkiDir, "ca.key"))
			if err != nil {
				return err
			}
			adminConf := filepath.Join(dataDir, "admin.conf")
			if server == "" {
				cfg, err := clientcmd.LoadFromFile(adminConf)
				if err != nil {
					return fmt.Errorf("--server not given and %w", err)
				}
				for _, c := range cfg.Clusters {
					server = c.Server
				}
			}
			spec := pki.CertSpec{CommonName: client, Organization: orgs, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: validity}
			cert, key, err := ca.IssueKeyPair(spec, "")
			if err != nil {
				return err
			}
			keyPEM, err := pki.EncodeKeyPEM(key)
			if err != nil {
				return err
			}
			// Record first: a certificate that is not in the record could
			// not be revoked later.
			rc, err := clientcmd.BuildConfigFromFlags("", adminConf)
			if err != nil {
				return fmt.Errorf("recording the certificate needs the cluster: %w", err)
			}
			dyn, err := dynamic.NewForConfig(rc)
			if err != nil {
				return err
			}
			rec := certrecord.FromCertificate(cert)
			rec.Signer, rec.Requester, rec.Source = "kubeconfig user", "kastle kubeconfig user", certrecord.SourceKubeconfig
			if _, err := dyn.Resource(certrecord.GVR).Create(cmd.Context(), rec.Object(), metav1.CreateOptions{FieldManager: "kastle-kubeconfig-user"}); err != nil {
				return fmt.Errorf("recording the certificate in the cluster (nothing was written): %w", err)
			}
			out, err := clientcmd.Write(*kubeconfig.Build(kubeconfig.Spec{ServerURL: server, Cert: spec}, pki.EncodeCertPEM(ca.Cert), pki.EncodeCertPEM(cert), keyPEM))
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "", "the cluster's data directory (its pki/ca.key signs; its admin.conf records the issuance)")
	f.StringVar(&client, "client-name", "", "user name: the certificate's common name")
	f.StringSliceVar(&orgs, "org", nil, "groups: the certificate's organizations")
	f.DurationVar(&validity, "validity-period", pki.LeafValidity, "how long the certificate is valid")
	f.StringVar(&server, "server", "", "API server URL (default: admin.conf's)")
	return cmd
}

// loadCA reads a CA certificate and its key from files.
func loadCA(certFile, keyFile string) (*pki.CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("the CA key is needed to sign: %w", err)
	}
	ca, err := pki.LoadCA(certPEM, keyPEM, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err)
	}
	return ca, nil
}

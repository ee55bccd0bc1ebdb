package cli

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/kastle-dev/kastle/internal/pki"
)

// newCertsEtcdClusterCommand writes the certificates of an external etcd
// cluster in seed 002's shape: an etcd CA, per member a server and a peer
// certificate (cfssl's server and peer profiles), and the client
// certificates of the API server and of health checks.
func newCertsEtcdClusterCommand() *cobra.Command {
	var (
		dir      string
		members  int
		hosts    []string
		validity time.Duration
	)
	cmd := &cobra.Command{
		Use:   "etcd-cluster",
		Short: "Create the certificates of an external etcd cluster (CA, server and peer per member, API server client)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" || members < 1 {
				return errors.New("--dir and --members (at least 1) are required")
			}
			sans, err := pki.ParseSANs(hosts)
			if err != nil {
				return err
			}
			store := pki.Store{Dir: dir}
			ca, err := store.EnsureCA("etcd/ca", pki.CertSpec{CommonName: "etcd-ca", Validity: pki.CAValidity, IsCA: true})
			if err != nil {
				return err
			}
			both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
			leaf := func(base, cn string, orgs []string, usages []x509.ExtKeyUsage, dns []string, ips []net.IP) error {
				_, err := store.EnsureLeaf(base, ca, pki.CertSpec{CommonName: cn, Organization: orgs, Usages: usages,
					DNSNames: dns, IPs: ips, Validity: validity})
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "[certs] %s\n", filepath.Join(dir, base+".crt"))
				}
				return err
			}
			for i := 1; i <= members; i++ {
				name := fmt.Sprintf("member-%d", i)
				// etcd's server certificate is also its client towards
				// itself (gRPC gateway), hence both usages, as kubeadm.
				if err := leaf("etcd/"+name+"/server", name, nil, both, sans.DNSNames, sans.IPs); err != nil {
					return err
				}
				if err := leaf("etcd/"+name+"/peer", name, nil, both, sans.DNSNames, sans.IPs); err != nil {
					return err
				}
			}
			client := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
			if err := leaf("etcd/healthcheck-client", "kube-etcd-healthcheck-client", nil, client, nil, nil); err != nil {
				return err
			}
			return leaf("apiserver-etcd-client", "kube-apiserver-etcd-client", nil, client, nil, nil)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the files (kubeadm's names under it: etcd/ca.crt, apiserver-etcd-client.crt, ...)")
	cmd.Flags().IntVar(&members, "members", 3, "number of etcd members")
	cmd.Flags().StringSliceVar(&hosts, "hosts", []string{"localhost", "127.0.0.1"}, "SANs of the members' server and peer certificates")
	cmd.Flags().DurationVar(&validity, "validity-period", pki.LeafValidity, "lifetime of the leaf certificates")
	return cmd
}

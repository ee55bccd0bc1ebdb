package cli

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kastle-dev/kastle/internal/apiserver"
	"github.com/kastle-dev/kastle/internal/pki"
)

// newCertsGenerateCSRCommand writes, for an external CA to sign, a key
// and a PKCS #10 request for every leaf certificate of the layout, and for
// kubeconfig identities a partial kubeconfig holding the key plus a
// .csr beside it, as kubeadm certs generate-csr does.
func newCertsGenerateCSRCommand() *cobra.Command {
	var (
		dataDir string
		sans    []string
		bind    string
		srv     apiserver.Config
	)
	cmd := &cobra.Command{
		Use:   "generate-csr",
		Short: "Write keys and CSRs of the control plane's certificates for an external CA to sign",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				return errors.New("--data-dir is required")
			}
			// The same SANs the server will require of its certificate.
			srv.DataDir, srv.BindAddress, srv.ExtraSANs = dataDir, bind, sans
			pc, err := apiserver.ServingPKIConfig(srv)
			if err != nil {
				return err
			}
			apiSANs, err := pki.APIServerSANs(pc)
			if err != nil {
				return err
			}
			pkiDir := pki.PKIDir(dataDir)
			for _, f := range pki.Layout() {
				if f.CA == "" {
					continue
				}
				var s pki.SANs
				if f.SANs == pki.SANAPIServer {
					s = apiSANs
				}
				spec, err := f.Spec(pki.Profiles(), s)
				if err != nil {
					return err
				}
				key, err := pki.GenerateKey("")
				if err != nil {
					return err
				}
				der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
					Subject: pkix.Name{CommonName: spec.CommonName, Organization: spec.Organization}, DNSNames: spec.DNSNames, IPAddresses: spec.IPs}, key)
				if err != nil {
					return err
				}
				csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
				keyPEM, err := pki.EncodeKeyPEM(key)
				if err != nil {
					return err
				}
				var csrPath string
				if f.Kubeconfig != "" {
					conf := filepath.Join(dataDir, filepath.FromSlash(f.Kubeconfig))
					if err := refuseExisting(conf); err != nil {
						return err
					}
					kc := clientcmdapi.NewConfig()
					kc.AuthInfos[spec.CommonName] = &clientcmdapi.AuthInfo{ClientKeyData: keyPEM}
					out, err := clientcmd.Write(*kc)
					if err != nil {
						return err
					}
					if err := pki.WriteFileAtomic(conf, out, pki.KubeconfigFileMode, false); err != nil {
						return err
					}
					csrPath = conf + ".csr"
				} else {
					if err := refuseExisting(f.KeyPath(pkiDir)); err != nil {
						return err
					}
					if err := pki.WriteFileAtomic(f.KeyPath(pkiDir), keyPEM, pki.KeyFileMode, false); err != nil {
						return err
					}
					csrPath = filepath.Join(pkiDir, filepath.FromSlash(f.Base)+".csr")
				}
				if err := pki.WriteFileAtomic(csrPath, csrPEM, pki.CertFileMode, true); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "[certs] Generated %s and its key\n", csrPath)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the data directory to write into (its pki/ and kubeconfigs)")
	cmd.Flags().StringSliceVar(&sans, "apiserver-cert-extra-sans", nil, "extra SANs of the API server certificate")
	cmd.Flags().StringVar(&bind, "bind-address", "127.0.0.1", "the API server's IP (a SAN of its certificate)")
	cmd.Flags().StringVar(&srv.ServiceClusterIPRange, "service-cluster-ip-range", "", "the server's --service-cluster-ip-range (its first IP, the kubernetes Service's, is a SAN)")
	cmd.Flags().StringVar(&srv.AdvertiseAddress, "advertise-address", "", "the server's --advertise-address (a SAN when given)")
	return cmd
}

// refuseExisting refuses to overwrite an existing file: a key that is
// already there may be the one a signed certificate belongs to.
func refuseExisting(path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists: remove it to generate a new key and CSR", path)
	}
	return nil
}

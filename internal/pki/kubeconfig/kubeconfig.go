package kubeconfig

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kastle-dev/kastle/internal/pki"
)

// DefaultClusterName is the cluster entry's name in kastle kubeconfigs.
const DefaultClusterName = "kastle"

// Spec describes one kubeconfig: which cluster it points at and whose
// certificate it carries.
type Spec struct {
	// ClusterName names the cluster entry; "" means DefaultClusterName.
	ClusterName string
	// UserName names the user entry; "" means Cert.CommonName.
	UserName string
	// ServerURL is the API server, e.g. https://127.0.0.1:6443.
	ServerURL string
	// Cert is the client certificate's identity (CN = user, O = groups).
	Cert pki.CertSpec
	// KeyAlgorithm is used for a new key; "" means pki.DefaultKeyAlgorithm.
	KeyAlgorithm pki.KeyAlgorithm
}

// names resolves the entry names: cluster, user and context "user@cluster".
func (s Spec) names() (cluster, user, context string) {
	cluster, user = s.ClusterName, s.UserName
	if cluster == "" {
		cluster = DefaultClusterName
	}
	if user == "" {
		user = s.Cert.CommonName
	}
	return cluster, user, user + "@" + cluster
}

// Build returns the kubeconfig for spec with the given PEM data embedded,
// with its context current.
func Build(spec Spec, caPEM, certPEM, keyPEM []byte) *clientcmdapi.Config {
	cluster, user, context := spec.names()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[cluster] = &clientcmdapi.Cluster{Server: spec.ServerURL, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts[context] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: user}
	cfg.CurrentContext = context
	return cfg
}

// Ensure makes path a kubeconfig for spec, signed by ca.
//
//   - Absent: a key and certificate are issued (ErrExternalCA if ca has no
//     key) and the file is written atomically with pki.KubeconfigFileMode.
//   - Present: its certificate-authority-data must contain ca.Cert, and its
//     embedded client certificate and key must pass pki.CheckCert against
//     ca and spec.Cert. If only the server URL, context entry or
//     current-context differ, those are rewritten and everything else,
//     credentials included, is kept.
//
// Errors are *pki.FileError naming path.
func Ensure(path string, ca *pki.CA, spec Spec) error {
	if ca == nil || ca.Cert == nil {
		return errors.New("kubeconfig: Ensure: no CA")
	}
	if spec.ServerURL == "" {
		return fmt.Errorf("kubeconfig: %s: no server URL", path)
	}
	if err := spec.Cert.Validate(); err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return create(path, ca, spec)
	}
	if err != nil {
		return &pki.FileError{Path: path, Err: err}
	}
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return &pki.FileError{Path: path, Err: fmt.Errorf("%w: %v", pki.ErrCorrupt, err)}
	}
	if err := check(cfg, ca, spec); err != nil {
		if errors.Is(err, pki.ErrExpired) && ca.Key != nil {
			// Expired while nothing ran to renew it: issue anew.
			_, err := Reissue(path, ca, spec)
			return err
		}
		return &pki.FileError{Path: path, Err: err}
	}
	if !repair(cfg, spec) {
		return nil
	}
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("kubeconfig: %s: %w", path, err)
	}
	return pki.WriteFileAtomic(path, out, pki.KubeconfigFileMode, true)
}

// create issues credentials and writes a new kubeconfig.
func create(path string, ca *pki.CA, spec Spec) error {
	if ca.Key == nil {
		return &pki.FileError{Path: path, Err: fmt.Errorf("%w: cannot issue the client certificate for %q; provide "+
			"this kubeconfig, or the CA key", pki.ErrExternalCA, spec.Cert.CommonName)}
	}
	cert, key, err := ca.IssueKeyPair(spec.Cert, spec.KeyAlgorithm)
	if err != nil {
		return err
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return err
	}
	out, err := clientcmd.Write(*Build(spec, pki.EncodeCertPEM(ca.Cert), pki.EncodeCertPEM(cert), keyPEM))
	if err != nil {
		return fmt.Errorf("kubeconfig: %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), pki.DirMode); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	return pki.WriteFileAtomic(path, out, pki.KubeconfigFileMode, false)
}

// check validates an existing kubeconfig's CA and credentials.
func check(cfg *clientcmdapi.Config, ca *pki.CA, spec Spec) error {
	clusterName, userName, _ := spec.names()
	cluster, ok := cfg.Clusters[clusterName]
	if !ok {
		return fmt.Errorf("%w: no cluster %q", pki.ErrIdentityDrift, clusterName)
	}
	if len(cluster.CertificateAuthorityData) == 0 {
		return fmt.Errorf("%w: cluster %q has no embedded certificate-authority-data", pki.ErrIdentityDrift, clusterName)
	}
	cas, err := pki.ParseCertsPEM(cluster.CertificateAuthorityData)
	if err != nil {
		return fmt.Errorf("%w: cluster %q certificate-authority-data: %v", pki.ErrCorrupt, clusterName, err)
	}
	if !containsCert(cas, ca.Cert) {
		return fmt.Errorf("%w: cluster %q certificate-authority-data (CA %q) does not match the cluster CA %q; "+
			"this kubeconfig belongs to another cluster", pki.ErrNotSignedByCA, clusterName,
			cas[0].Subject.CommonName, ca.Cert.Subject.CommonName)
	}
	user, ok := cfg.AuthInfos[userName]
	if !ok {
		return fmt.Errorf("%w: no user %q", pki.ErrIdentityDrift, userName)
	}
	if len(user.ClientCertificateData) == 0 || len(user.ClientKeyData) == 0 {
		return fmt.Errorf("%w: user %q has no embedded client-certificate-data and client-key-data",
			pki.ErrIdentityDrift, userName)
	}
	certs, err := pki.ParseCertsPEM(user.ClientCertificateData)
	if err != nil {
		return fmt.Errorf("%w: user %q client-certificate-data: %v", pki.ErrCorrupt, userName, err)
	}
	key, err := pki.ParseKeyPEM(user.ClientKeyData)
	if err != nil {
		return fmt.Errorf("%w: user %q client-key-data: %v", pki.ErrCorrupt, userName, err)
	}
	if err := pki.CheckCert(certs[0], key, ca.Cert, spec.Cert, now(ca)); err != nil {
		return fmt.Errorf("user %q: %w", userName, err)
	}
	return nil
}

// repair points cfg at spec's server and context, reporting whether
// anything changed. Credentials are never touched.
func repair(cfg *clientcmdapi.Config, spec Spec) bool {
	clusterName, userName, contextName := spec.names()
	changed := false
	if c := cfg.Clusters[clusterName]; c.Server != spec.ServerURL {
		c.Server = spec.ServerURL
		changed = true
	}
	if ctx, ok := cfg.Contexts[contextName]; !ok || ctx.Cluster != clusterName || ctx.AuthInfo != userName {
		if !ok {
			ctx = clientcmdapi.NewContext()
			cfg.Contexts[contextName] = ctx
		}
		ctx.Cluster, ctx.AuthInfo = clusterName, userName
		changed = true
	}
	if cfg.CurrentContext != contextName {
		cfg.CurrentContext = contextName
		changed = true
	}
	return changed
}

// containsCert reports whether want is among certs, byte for byte.
func containsCert(certs []*x509.Certificate, want *x509.Certificate) bool {
	for _, c := range certs {
		if bytes.Equal(c.Raw, want.Raw) {
			return true
		}
	}
	return false
}

// now reads the CA's clock.
func now(ca *pki.CA) time.Time {
	if ca.Now != nil {
		return ca.Now()
	}
	return time.Now()
}

// AdminSpec returns the spec of the cluster-admin kubeconfig from pki's
// layout (CN kubernetes-admin, O system:masters, clientAuth).
func AdminSpec(serverURL string, alg pki.KeyAlgorithm) (Spec, string, error) {
	return SpecFor(pki.CertAdmin, serverURL, alg)
}

// SpecFor returns the spec of the kubeconfig of the layout row named row
// (pki.CertAdmin, pki.CertControllerManager, ...) and its file, relative to
// the data directory.
func SpecFor(row, serverURL string, alg pki.KeyAlgorithm) (Spec, string, error) {
	f, cert, err := pki.Layout().GetSpec(row)
	if err != nil {
		return Spec{}, "", err
	}
	if f.Kubeconfig == "" {
		return Spec{}, "", fmt.Errorf("kubeconfig: layout row %q is not a kubeconfig", row)
	}
	return Spec{ServerURL: serverURL, Cert: cert, KeyAlgorithm: alg}, f.Kubeconfig, nil
}

// EnsureAdmin ensures <dataDir>/admin.conf for serverURL (see Ensure) and
// returns its path. In external-CA mode it must already exist.
func EnsureAdmin(dataDir, serverURL string, ca *pki.CA, alg pki.KeyAlgorithm) (string, error) {
	return EnsureFor(pki.CertAdmin, dataDir, serverURL, ca, alg, 0)
}

// EnsureFor ensures the kubeconfig of layout row row under dataDir for
// serverURL (see Ensure) and returns its path. A new certificate is valid
// for validity (0: the profile's).
func EnsureFor(row, dataDir, serverURL string, ca *pki.CA, alg pki.KeyAlgorithm, validity time.Duration) (string, error) {
	spec, file, err := SpecFor(row, serverURL, alg)
	if err != nil {
		return "", err
	}
	if validity > 0 {
		spec.Cert.Validity = validity
	}
	path := filepath.Join(dataDir, filepath.FromSlash(file))
	return path, Ensure(path, ca, spec)
}

// ClientCert returns the client certificate embedded for the current
// context's user of the kubeconfig at path.
func ClientCert(path string) (*x509.Certificate, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, err
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("%s: no current context", path)
	}
	user, ok := cfg.AuthInfos[ctx.AuthInfo]
	if !ok || len(user.ClientCertificateData) == 0 {
		return nil, fmt.Errorf("%s: user %q has no embedded client certificate", path, ctx.AuthInfo)
	}
	certs, err := pki.ParseCertsPEM(user.ClientCertificateData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs[0], nil
}

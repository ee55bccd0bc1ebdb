package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kastle-dev/kastle/internal/pki"
)

// Entry names in kubelet.conf, kubelet's.
const (
	kubeconfigCluster = "default-cluster"
	kubeconfigUser    = "default-auth"
	kubeconfigContext = "default-context"
)

// connection is where the API server is and how to trust it.
type connection struct {
	server     string
	serverName string // TLS server name override; "" = the host's
	caPEM      []byte
	roots      *x509.CertPool
}

// loadConnection reads the current context's cluster of a kubeconfig:
// server URL and CA (data, or the file it names).
func loadConnection(path string) (connection, *clientcmdapi.AuthInfo, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return connection{}, nil, err
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return connection{}, nil, fmt.Errorf("%s: no current context (current-context %q)", path, cfg.CurrentContext)
	}
	cluster, ok := cfg.Clusters[ctx.Cluster]
	if !ok {
		return connection{}, nil, fmt.Errorf("%s: context %q names no known cluster %q", path, cfg.CurrentContext, ctx.Cluster)
	}
	if cluster.Server == "" {
		return connection{}, nil, fmt.Errorf("%s: cluster %q has no server", path, ctx.Cluster)
	}
	ca := cluster.CertificateAuthorityData
	if len(ca) == 0 && cluster.CertificateAuthority != "" {
		if ca, err = os.ReadFile(cluster.CertificateAuthority); err != nil {
			return connection{}, nil, fmt.Errorf("%s: cluster %q certificate-authority: %w", path, ctx.Cluster, err)
		}
	}
	if len(ca) == 0 {
		// The agent never trusts the API server blindly: the CA is what
		// authenticates the server and, later, the agent's own callers.
		return connection{}, nil, fmt.Errorf("%s: cluster %q has no certificate-authority-data", path, ctx.Cluster)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return connection{}, nil, fmt.Errorf("%s: cluster %q certificate-authority-data holds no PEM certificate", path, ctx.Cluster)
	}
	user := cfg.AuthInfos[ctx.AuthInfo]
	if user == nil {
		user = clientcmdapi.NewAuthInfo()
	}
	return connection{server: cluster.Server, serverName: cluster.TLSServerName, caPEM: ca, roots: roots}, user, nil
}

// loadIdentity reads kubelet.conf and the client certificate it names. It
// returns an error wrapping errNeedBootstrap when bootstrap should replace
// it: the file or certificate is missing or unreadable, or the certificate
// has expired (kubelet once failed to start in that case instead).
func loadIdentity(cfg *Config, now time.Time) (connection, *tls.Certificate, error) {
	conn, user, err := loadConnection(cfg.Kubeconfig)
	if err != nil {
		return connection{}, nil, fmt.Errorf("%w: %v", errNeedBootstrap, err)
	}
	var pair *tls.Certificate
	switch {
	case len(user.ClientCertificateData) > 0 && len(user.ClientKeyData) > 0:
		p, err := tls.X509KeyPair(user.ClientCertificateData, user.ClientKeyData)
		if err != nil {
			return connection{}, nil, fmt.Errorf("%w: %s: %v", errNeedBootstrap, cfg.Kubeconfig, err)
		}
		pair = &p
	case user.ClientCertificate != "":
		keyFile := user.ClientKey
		if keyFile == "" {
			keyFile = user.ClientCertificate
		}
		p, err := tls.LoadX509KeyPair(user.ClientCertificate, keyFile)
		if err != nil {
			return connection{}, nil, fmt.Errorf("%w: %s: client certificate %s: %v", errNeedBootstrap, cfg.Kubeconfig, user.ClientCertificate, err)
		}
		pair = &p
	default:
		return connection{}, nil, fmt.Errorf("%w: %s has no client certificate", errNeedBootstrap, cfg.Kubeconfig)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return connection{}, nil, fmt.Errorf("%w: %s: %v", errNeedBootstrap, cfg.Kubeconfig, err)
		}
	}
	if !now.Before(pair.Leaf.NotAfter) {
		return connection{}, nil, fmt.Errorf("%w: the client certificate of %s expired at %s", errNeedBootstrap,
			cfg.Kubeconfig, pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if want := nodeUserPrefix + cfg.NodeName; pair.Leaf.Subject.CommonName != want {
		// Identity drift: another node's data dir, or a renamed node. Never
		// act as someone else.
		return connection{}, nil, fmt.Errorf("agent: %s holds the identity %q, but this node is %q; "+
			"remove it to bootstrap again", cfg.Kubeconfig, pair.Leaf.Subject.CommonName, want)
	}
	return conn, pair, nil
}

// errNeedBootstrap marks an unusable kubelet.conf.
var errNeedBootstrap = errors.New("no usable kubeconfig")

// bootstrap obtains the first client certificate with the bootstrap
// kubeconfig's credentials, stores it and writes kubelet.conf.
func bootstrap(ctx context.Context, cfg *Config, store *certStore, log *slog.Logger) (connection, *tls.Certificate, error) {
	conn, _, err := loadConnection(cfg.BootstrapKubeconfig)
	if err != nil {
		return connection{}, nil, fmt.Errorf("agent: bootstrap kubeconfig: %w", err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.BootstrapKubeconfig)
	if err != nil {
		return connection{}, nil, fmt.Errorf("agent: bootstrap kubeconfig: %w", err)
	}
	pair, err := bootstrapWith(ctx, cfg, rc, store, log)
	if err != nil {
		return connection{}, nil, err
	}
	if err := writeKubeconfig(cfg.Kubeconfig, conn, store.CurrentPath()); err != nil {
		return connection{}, nil, err
	}
	return conn, pair, nil
}

// bootstrapWith requests a client certificate (signer
// kube-apiserver-client-kubelet) through rc and stores it.
func bootstrapWith(ctx context.Context, cfg *Config, rc *rest.Config, store *certStore, log *slog.Logger) (*tls.Certificate, error) {
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "kastle-agent/" + cfg.NodeName + " (bootstrap)"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("agent: bootstrap client: %w", err)
	}
	return obtain(ctx, cs, clientKind(), store, cfg.BootstrapTimeout, log, func(key *ecdsaKey) ([]byte, error) {
		return clientRequest(cfg.NodeName, key)
	})
}

// writeKubeconfig writes kubelet.conf: the cluster with its CA embedded,
// and the client certificate and key both read from the current.pem
// symlink, so a rotated certificate needs no rewrite.
func writeKubeconfig(path string, conn connection, currentPEM string) error {
	out := clientcmdapi.NewConfig()
	out.Clusters[kubeconfigCluster] = &clientcmdapi.Cluster{Server: conn.server, CertificateAuthorityData: conn.caPEM, TLSServerName: conn.serverName}
	out.AuthInfos[kubeconfigUser] = &clientcmdapi.AuthInfo{ClientCertificate: currentPEM, ClientKey: currentPEM}
	out.Contexts[kubeconfigContext] = &clientcmdapi.Context{Cluster: kubeconfigCluster, AuthInfo: kubeconfigUser}
	out.CurrentContext = kubeconfigContext
	data, err := clientcmd.Write(*out)
	if err != nil {
		return fmt.Errorf("agent: encode %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), pki.DirMode); err != nil {
		return fmt.Errorf("agent: create %s: %w", filepath.Dir(path), err)
	}
	return pki.WriteFileAtomic(path, data, pki.KubeconfigFileMode, true)
}

package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/pki"
)

// Discovery is what `kastle join` knows before it trusts the cluster.
type Discovery struct {
	// Endpoint is the API server's host:port.
	Endpoint string
	// Token is the bootstrap token: its secret checks cluster-info's
	// signature.
	Token bootstraptoken.Token
	// CAPins are sha256:<hex> pins of the cluster CA's public key; one
	// must match unless UnsafeSkipCAVerification.
	CAPins                   []string
	UnsafeSkipCAVerification bool
	// Timeout bounds each request (0: 10 s).
	Timeout time.Duration
}

// Result is the trusted cluster information.
type Result struct {
	// Server is the API server URL from cluster-info.
	Server string
	// CAPEM is the cluster CA, verified against a pin.
	CAPEM []byte
	// CAPin is the pin of CAPEM.
	CAPin string
}

// ErrDiscovery wraps every discovery refusal.
var ErrDiscovery = errors.New("discovery")

func fail(format string, args ...interface{}) error {
	return fmt.Errorf("%w: "+format, append([]interface{}{ErrDiscovery}, args...)...)
}

const clusterInfoPath = "/api/v1/namespaces/" + bootstraptoken.ClusterInfoNamespace + "/configmaps/" + bootstraptoken.ClusterInfoName

// Discover fetches cluster-info from d.Endpoint without trusting the
// server, checks the JWS for the token's id with its secret, checks the CA
// against the pins, then fetches cluster-info again over a connection
// verified with that CA and requires the same content.
func Discover(ctx context.Context, d Discovery) (*Result, error) {
	if d.Timeout <= 0 {
		d.Timeout = 10 * time.Second
	}
	if len(d.CAPins) == 0 && !d.UnsafeSkipCAVerification {
		return nil, fail("no --discovery-token-ca-cert-hash given: pin the cluster CA, or pass --discovery-token-unsafe-skip-ca-verification")
	}
	for _, p := range d.CAPins {
		if _, err := parsePin(p); err != nil {
			return nil, err
		}
	}
	if _, _, err := net.SplitHostPort(d.Endpoint); err != nil {
		return nil, fail("endpoint %q is not host:port: %v", d.Endpoint, err)
	}
	// The first fetch cannot verify the server: the JWS and the pin do.
	insecure := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true} //nolint:gosec // verified by JWS + pin below
	cm, err := fetchClusterInfo(ctx, d.Endpoint, insecure, d.Timeout)
	if err != nil {
		return nil, err
	}
	content, ok := cm.Data[bootstraptoken.KubeconfigKey]
	if !ok {
		return nil, fail("the cluster-info ConfigMap has no %q key", bootstraptoken.KubeconfigKey)
	}
	sig, ok := cm.Data[bootstraptoken.JWSKeyPrefix+d.Token.ID]
	if !ok {
		return nil, fail("there is no JWS signed token in the cluster-info ConfigMap for token id %q: the token is unknown to this cluster or has expired; create a new one with `kastle token create` on a control-plane node", d.Token.ID)
	}
	if err := bootstraptoken.VerifyDetached(content, sig, d.Token); err != nil {
		return nil, fail("failed to verify the JWS signature of cluster-info with the token's secret (%v): the token secret is wrong, or this API server cannot be trusted", err)
	}
	cfg, err := clientcmd.Load([]byte(content))
	if err != nil {
		return nil, fail("the kubeconfig in cluster-info does not parse: %v", err)
	}
	cluster := firstCluster(cfg)
	if cluster == nil || len(cluster.CertificateAuthorityData) == 0 {
		return nil, fail("the kubeconfig in cluster-info has no cluster with certificate-authority-data")
	}
	cas, err := pki.ParseCertsPEM(cluster.CertificateAuthorityData)
	if err != nil {
		return nil, fail("the CA in cluster-info: %v", err)
	}
	res := &Result{Server: cluster.Server, CAPEM: cluster.CertificateAuthorityData, CAPin: pki.CertPin(cas[0])}
	if !d.UnsafeSkipCAVerification {
		if err := checkPins(cas, d.CAPins); err != nil {
			return nil, err
		}
	}
	// Second fetch, now verifying the server with the discovered CA: the
	// endpoint must be the cluster the token vouched for.
	roots := x509.NewCertPool()
	for _, c := range cas {
		roots.AddCert(c)
	}
	host, _, _ := net.SplitHostPort(d.Endpoint)
	secure := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: host}
	again, err := fetchClusterInfo(ctx, d.Endpoint, secure, d.Timeout)
	if err != nil {
		return nil, fail("cluster-info over a connection verified with the discovered CA: %v", err)
	}
	if again.Data[bootstraptoken.KubeconfigKey] != content {
		return nil, fail("cluster-info changed between the unverified and the verified fetch")
	}
	return res, nil
}

func parsePin(p string) ([]byte, error) {
	b, err := pki.ParsePin(p)
	if err != nil {
		return nil, fail("CA pin %q must be sha256:<64 hex digits>", p)
	}
	return b, nil
}

// checkPins requires one of the CAs' public keys to match one pin.
func checkPins(cas []*x509.Certificate, pins []string) error {
	var got []string
	for _, c := range cas {
		pin := pki.CertPin(c)
		got = append(got, pin)
		for _, want := range pins {
			if strings.EqualFold(want, pin) {
				return nil
			}
		}
	}
	return fail("the cluster CA found in cluster-info is not pinned: its public key hash is %s, none of the given --discovery-token-ca-cert-hash values match", strings.Join(got, ", "))
}

func firstCluster(cfg *clientcmdapi.Config) *clientcmdapi.Cluster {
	if c, ok := cfg.Clusters[""]; ok {
		return c
	}
	for _, c := range cfg.Clusters {
		return c
	}
	return nil
}

// fetchClusterInfo reads kube-public/cluster-info anonymously.
func fetchClusterInfo(ctx context.Context, endpoint string, tlsCfg *tls.Config, timeout time.Duration) (*corev1.ConfigMap, error) {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: nil}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+endpoint+clusterInfoPath, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fail("fetching cluster-info from %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fail("reading cluster-info: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fail("fetching cluster-info from %s: HTTP %d: %s", endpoint, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var cm corev1.ConfigMap
	if err := json.Unmarshal(body, &cm); err != nil {
		return nil, fail("cluster-info is not a ConfigMap: %v", err)
	}
	return &cm, nil
}

// BootstrapKubeconfig is the kubeconfig a joining node bootstraps with:
// the discovered server and CA, and the token.
func BootstrapKubeconfig(res *Result, token bootstraptoken.Token) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kastle"] = &clientcmdapi.Cluster{Server: res.Server, CertificateAuthorityData: res.CAPEM}
	cfg.AuthInfos["tls-bootstrap-token-user"] = &clientcmdapi.AuthInfo{Token: token.String()}
	cfg.Contexts["tls-bootstrap-token-user@kastle"] = &clientcmdapi.Context{Cluster: "kastle", AuthInfo: "tls-bootstrap-token-user"}
	cfg.CurrentContext = "tls-bootstrap-token-user@kastle"
	return clientcmd.Write(*cfg)
}

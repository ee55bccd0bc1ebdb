package cluster

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/kastle-dev/kastle/internal/apiserver"
	"github.com/kastle-dev/kastle/internal/auth/authz/bootstrappolicy"
	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/pki"
	"github.com/kastle-dev/kastle/internal/pki/kubeconfig"
)

// InitConfig is `kastle init`'s configuration.
type InitConfig struct {
	// Server configures the control plane it starts.
	Server apiserver.Config `json:"-"`
	// NodeName names this control-plane node (default: the host name).
	NodeName string `json:"nodeName"`
	// ControlPlaneEndpoint is host:port of the API server as nodes reach
	// it (default: the bind address and secure port).
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint"`
	// Token is the first bootstrap token (default: a random one) and
	// TokenTTL its lifetime.
	Token    string        `json:"-"`
	TokenTTL time.Duration `json:"tokenTTL"`
	// UploadCerts stores the shared keys, encrypted with CertificateKey
	// (default: a random one), for CertificateKeyTTL, so that other
	// control planes can join with --control-plane --certificate-key.
	UploadCerts       bool          `json:"-"`
	CertificateKey    string        `json:"-"`
	CertificateKeyTTL time.Duration `json:"-"`
	// IgnorePreflightErrors names checks whose failure only warns
	// ("all" for every one).
	IgnorePreflightErrors []string `json:"-"`
	// Out receives the progress lines.
	Out io.Writer `json:"-"`
}

// InitState is what the phases share.
type InitState struct {
	cfg      *InitConfig
	url      string // https://endpoint
	client   kubernetes.Interface
	token    bootstraptoken.Token
	caPin    string
	adminCfg string
}

// Phase is one step of `kastle init`.
type Phase struct {
	Name, Help string
	// Online phases need the API server running (admin.conf).
	Online bool
	Run    func(ctx context.Context, s *InitState) error
}

// InitPhases are kubeadm's phases, in order. The control plane itself is
// started by `kastle init` between "kubeconfig" and "upload-config".
func InitPhases() []Phase {
	return []Phase{
		{Name: "preflight", Help: "Check the ports, the data directory, the clock and the external etcd", Run: preflight},
		{Name: "certs", Help: "Create or check the CA and every certificate (kubeadm's layout)", Run: certsPhase},
		{Name: "kubeconfig", Help: "Write admin.conf, super-admin.conf, controller-manager.conf and kubelet.conf", Run: kubeconfigPhase},
		{Name: "upload-config", Help: "Store the init configuration as kube-system/kastle-config", Online: true, Run: uploadConfig},
		{Name: "upload-certs", Help: "With --upload-certs: store the shared keys encrypted under the certificate key, for joining control planes", Online: true, Run: uploadCertsPhase},
		{Name: "mark-control-plane", Help: "Label and taint this node as a control-plane node", Online: true, Run: markControlPlane},
		{Name: "bootstrap-token", Help: "Create a bootstrap token, its RBAC rules and the signed cluster-info", Online: true, Run: bootstrapTokenPhase},
	}
}

// NewInitState prepares the phases' state from cfg.
func NewInitState(cfg *InitConfig) (*InitState, error) {
	if cfg.Server.DataDir == "" {
		return nil, errors.New("--data-dir is required")
	}
	if cfg.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, err
		}
		cfg.NodeName = strings.ToLower(h)
	}
	if cfg.ControlPlaneEndpoint == "" {
		host := cfg.Server.BindAddress
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		cfg.ControlPlaneEndpoint = net.JoinHostPort(host, strconv.Itoa(cfg.Server.SecurePort))
	}
	if _, _, err := net.SplitHostPort(cfg.ControlPlaneEndpoint); err != nil {
		return nil, fmt.Errorf("--control-plane-endpoint %q is not host:port: %w", cfg.ControlPlaneEndpoint, err)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	s := &InitState{cfg: cfg, url: "https://" + cfg.ControlPlaneEndpoint, adminCfg: filepath.Join(cfg.Server.DataDir, "admin.conf")}
	if cfg.Token != "" {
		t, err := bootstraptoken.Parse(cfg.Token)
		if err != nil {
			return nil, fmt.Errorf("--token: %w", err)
		}
		s.token = t
	}
	return s, nil
}

// URL is the control-plane endpoint URL.
func (s *InitState) URL() string { return s.url }

func (s *InitState) printf(format string, args ...interface{}) {
	fmt.Fprintf(s.cfg.Out, format+"\n", args...)
}

// Connect points the online phases at the running API server
// (admin.conf), with the server's own URL.
func (s *InitState) Connect(serverURL string) error {
	rc, err := clientcmd.BuildConfigFromFlags(serverURL, s.adminCfg)
	if err != nil {
		return fmt.Errorf("admin.conf: %w", err)
	}
	rc.UserAgent = "kastle-init"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	s.client = cs
	return nil
}

// preflight runs the checks; a failure not ignored stops init.
func preflight(_ context.Context, s *InitState) error {
	s.printf("[preflight] Running pre-flight checks")
	srv := s.cfg.Server
	type check struct {
		name string
		err  error
	}
	var checks []check
	if srv.SecurePort != 0 {
		addr := net.JoinHostPort(srv.BindAddress, strconv.Itoa(srv.SecurePort))
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
		} else {
			err = fmt.Errorf("port %d is in use: %v", srv.SecurePort, err)
		}
		checks = append(checks, check{"Port-" + strconv.Itoa(srv.SecurePort), err})
	}
	checks = append(checks, check{"DirAvailable--" + strings.ReplaceAll(strings.Trim(srv.DataDir, "/"), "/", "-"), dirAvailable(srv.DataDir)})
	if now := time.Now(); now.Year() < 2024 {
		checks = append(checks, check{"SystemClock", fmt.Errorf("the clock says %s: certificates would not be valid", now.Format(time.RFC3339))})
	}
	for _, ep := range srv.EtcdServers {
		u, err := url.Parse(ep)
		if err == nil {
			var c net.Conn
			if c, err = net.DialTimeout("tcp", u.Host, 3*time.Second); err == nil {
				c.Close()
			}
		}
		if err != nil {
			err = fmt.Errorf("external etcd %s is not reachable: %v", ep, err)
		}
		checks = append(checks, check{"ExternalEtcdReachable", err})
	}
	var failed []string
	for _, c := range checks {
		if c.err == nil {
			continue
		}
		if slices.Contains(s.cfg.IgnorePreflightErrors, "all") || slices.Contains(s.cfg.IgnorePreflightErrors, c.name) {
			s.printf("\t[WARNING %s]: %v", c.name, c.err)
			continue
		}
		failed = append(failed, fmt.Sprintf("\t[ERROR %s]: %v", c.name, c.err))
	}
	if len(failed) > 0 {
		return fmt.Errorf("[preflight] Some fatal errors occurred:\n%s\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`", strings.Join(failed, "\n"))
	}
	return nil
}

// dirAvailable accepts a missing or empty directory, or one kastle made
// (it holds pki/ca.crt).
func dirAvailable(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "pki", "ca.crt")); err == nil {
		return nil
	}
	return fmt.Errorf("%s is not empty and holds no kastle cluster (no pki/ca.crt)", dir)
}

func certsPhase(_ context.Context, s *InitState) error {
	srv := s.cfg.Server
	host, _, _ := net.SplitHostPort(s.cfg.ControlPlaneEndpoint)
	if !slices.Contains(srv.ExtraSANs, host) {
		srv.ExtraSANs = append(slices.Clone(srv.ExtraSANs), host)
	}
	p, err := apiserver.EnsurePKI(srv)
	if err != nil {
		return fmt.Errorf("[certs] %w", err)
	}
	s.printf("[certs] Using certificateDir folder %q", p.Dir)
	if p.CA.Key == nil {
		s.printf("[certs] External CA mode: %s has no key; every certificate was provided", p.CAFile)
	}

	for _, name := range []string{pki.CertCA, pki.CertAPIServer, pki.CertAPIServerKubeletClient} {
		if f, err := pki.Layout().Get(name); err == nil {
			s.printf("[certs] %s certificate and key are in place (%s)", f.Name, f.CertPath(p.Dir))
		}
	}
	if err := ensureKubeadmSet(s, p.Dir, len(srv.EtcdServers) == 0); err != nil {
		return fmt.Errorf("[certs] %w", err)
	}
	s.caPin = pki.CertPin(p.CA.Cert)
	return nil
}

// kubeconfigPhase writes super-admin.conf and this node's kubelet.conf
// next to the admin and controller-manager kubeconfigs.
func kubeconfigPhase(_ context.Context, s *InitState) error {
	srv := s.cfg.Server
	ca, err := loadClusterCA(srv.DataDir)
	if err != nil {
		return fmt.Errorf("[kubeconfig] %w (run the certs phase first)", err)
	}
	if err := apiserver.EnsureKubeconfigs(srv, ca, s.url); err != nil {
		return fmt.Errorf("[kubeconfig] %w", err)
	}
	s.caPin = pki.CertPin(ca.Cert)
	validity := srv.CertificateValidity
	if validity == 0 {
		validity = pki.LeafValidity
	}
	for _, kc := range []struct {
		file string
		cert pki.CertSpec
	}{
		{"super-admin.conf", pki.CertSpec{CommonName: "kubernetes-super-admin", Organization: []string{"system:masters"}}},
		{"kubelet.conf", pki.CertSpec{CommonName: "system:node:" + s.cfg.NodeName, Organization: []string{"system:nodes"}}},
	} {
		kc.cert.Usages, kc.cert.Validity = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, validity
		path := filepath.Join(srv.DataDir, kc.file)
		if err := kubeconfig.Ensure(path, ca, kubeconfig.Spec{ServerURL: s.url, Cert: kc.cert}); err != nil {
			return fmt.Errorf("[kubeconfig] %w", err)
		}
	}
	for _, f := range []string{"admin.conf", "super-admin.conf", "controller-manager.conf", "kubelet.conf"} {
		s.printf("[kubeconfig] Writing %q kubeconfig file", f)
	}
	return nil
}

// uploadConfig stores the configuration for joining control planes.
func uploadConfig(ctx context.Context, s *InitState) error {
	data, err := yaml.Marshal(map[string]interface{}{
		"apiVersion": "kastle.io/v1alpha1", "kind": "InitConfiguration",
		"nodeName": s.cfg.NodeName, "controlPlaneEndpoint": s.cfg.ControlPlaneEndpoint,
		"etcdServers": s.cfg.Server.EtcdServers, "etcdPrefix": s.cfg.Server.EtcdPrefix,
		"serviceAccountIssuer": s.cfg.Server.ServiceAccountIssuer,
	})
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: metav1.NamespaceSystem},
		Data: map[string]string{"InitConfiguration": string(data)}}
	if err := createOrUpdateConfigMap(ctx, s.client, cm); err != nil {
		return fmt.Errorf("[upload-config] %w", err)
	}
	s.printf("[upload-config] Storing the configuration used in ConfigMap %q in the %q Namespace", cm.Name, cm.Namespace)
	return nil
}

func createOrUpdateConfigMap(ctx context.Context, cs kubernetes.Interface, cm *corev1.ConfigMap) error {
	_, err := cs.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{FieldManager: "kastle-init"})
	if apierrors.IsAlreadyExists(err) {
		cur, err := cs.CoreV1().ConfigMaps(cm.Namespace).Get(ctx, cm.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Data = cm.Data
		_, err = cs.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, cur, metav1.UpdateOptions{FieldManager: "kastle-init"})
		return err
	}
	return err
}

// Control-plane node label and taint, as kubeadm sets them.
const (
	LabelControlPlane = "node-role.kubernetes.io/control-plane"
	TaintControlPlane = "node-role.kubernetes.io/control-plane"
)

// markControlPlane labels and taints this node's Node (registering it if
// its agent has not yet).
func markControlPlane(ctx context.Context, s *InitState) error {
	nodes := s.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, s.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err = nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: s.cfg.NodeName,
			Labels: map[string]string{"kubernetes.io/hostname": s.cfg.NodeName}}}, metav1.CreateOptions{FieldManager: "kastle-init"})
	}
	if err != nil {
		return fmt.Errorf("[mark-control-plane] %w", err)
	}
	if node.Labels == nil {
		node.Labels = map[string]string{}
	}
	node.Labels[LabelControlPlane] = ""
	has := false
	for _, t := range node.Spec.Taints {
		has = has || (t.Key == TaintControlPlane && t.Effect == corev1.TaintEffectNoSchedule)
	}
	if !has {
		node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: TaintControlPlane, Effect: corev1.TaintEffectNoSchedule})
	}
	if _, err := nodes.Update(ctx, node, metav1.UpdateOptions{FieldManager: "kastle-init"}); err != nil {
		return fmt.Errorf("[mark-control-plane] %w", err)
	}
	s.printf("[mark-control-plane] Marking the node %s as control-plane by adding the labels: [%s]", s.cfg.NodeName, LabelControlPlane)
	s.printf("[mark-control-plane] Marking the node %s as control-plane by adding the taints [%s:NoSchedule]", s.cfg.NodeName, TaintControlPlane)
	return nil
}

// bootstrapTokenPhase creates the token, the RBAC kubeadm adds for TLS
// bootstrap, and the cluster-info ConfigMap the bootstrap signer signs.
func bootstrapTokenPhase(ctx context.Context, s *InitState) error {
	if s.token.ID == "" {
		t, err := bootstraptoken.Generate()
		if err != nil {
			return err
		}
		s.token = t
	}
	s.printf("[bootstrap-token] Using token: %s", s.token)
	ttl := s.cfg.TokenTTL
	info := bootstraptoken.Info{Token: s.token, Usages: []string{bootstraptoken.UsageSigning, bootstraptoken.UsageAuthentication},
		ExtraGroups: []string{bootstrappolicy.DefaultBootstrapperGroup}, Description: "The default bootstrap token generated by 'kastle init'."}
	if ttl > 0 {
		info.Expiration = time.Now().Add(ttl)
	}
	sec, err := info.Secret()
	if err != nil {
		return err
	}
	if _, err := s.client.CoreV1().Secrets(sec.Namespace).Create(ctx, sec, metav1.CreateOptions{FieldManager: "kastle-init"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("[bootstrap-token] %w", err)
	}
	for _, b := range bootstrappolicy.NodeBootstrapBindings(bootstrappolicy.DefaultBootstrapperGroup) {
		b := b
		if _, err := s.client.RbacV1().ClusterRoleBindings().Create(ctx, &b, metav1.CreateOptions{FieldManager: "kastle-init"}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("[bootstrap-token] %w", err)
		}
	}
	s.printf("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials")
	s.printf("[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token")
	s.printf("[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster")
	caPEM, err := os.ReadFile(filepath.Join(pki.PKIDir(s.cfg.Server.DataDir), "ca.crt"))
	if err != nil {
		return err
	}
	cas, err := pki.ParseCertsPEM(caPEM)
	if err != nil {
		return err
	}
	s.caPin = pki.CertPin(cas[0])
	kc := clientcmdapi.NewConfig()
	kc.Clusters[""] = &clientcmdapi.Cluster{Server: s.url, CertificateAuthorityData: caPEM}
	content, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: bootstraptoken.ClusterInfoName, Namespace: bootstraptoken.ClusterInfoNamespace},
		Data: map[string]string{bootstraptoken.KubeconfigKey: string(content)}}
	if err := createOrUpdateConfigMap(ctx, s.client, cm); err != nil {
		return fmt.Errorf("[bootstrap-token] %w", err)
	}
	s.printf("[bootstrap-token] Creating the %q ConfigMap in the %q namespace", cm.Name, cm.Namespace)
	return nil
}

// JoinCommand is what nodes run to join.
func (s *InitState) JoinCommand() string {
	return fmt.Sprintf("kastle join %s --token %s --discovery-token-ca-cert-hash %s", s.cfg.ControlPlaneEndpoint, s.token, s.caPin)
}

// ControlPlaneJoinCommand is what further control planes run to join, ""
// unless the certificates were uploaded.
func (s *InitState) ControlPlaneJoinCommand() string {
	if !s.cfg.UploadCerts || s.cfg.CertificateKey == "" {
		return ""
	}
	return s.JoinCommand() + " --control-plane --certificate-key " + s.cfg.CertificateKey
}

func uploadCertsPhase(ctx context.Context, s *InitState) error {
	if !s.cfg.UploadCerts {
		s.printf("[upload-certs] Skipping phase. Please see --upload-certs")
		return nil
	}
	if s.cfg.CertificateKey == "" {
		k, err := GenerateCertificateKey()
		if err != nil {
			return err
		}
		s.cfg.CertificateKey = k
	}
	srv := s.cfg.Server
	if err := UploadCerts(ctx, s.client, srv.DataDir, srv.EtcdCAFile, srv.EtcdCertFile, srv.EtcdKeyFile, s.cfg.CertificateKey, s.cfg.CertificateKeyTTL); err != nil {
		return err
	}
	s.printf("[upload-certs] Storing the certificates in Secret %q in the %q Namespace", CertsSecretName, metav1.NamespaceSystem)
	s.printf("[upload-certs] Using certificate key:\n%s", s.cfg.CertificateKey)
	return nil
}

// ensureKubeadmSet ensures the rest of kubeadm's certificate set: the
// front proxy CA and client, and, unless etcd is external, the local etcd
// CA with its server, peer, health-check and API server client
// certificates. Existing valid files are kept.
func ensureKubeadmSet(s *InitState, dir string, localEtcd bool) error {
	rows := []string{pki.CertFrontProxyCA, pki.CertFrontProxyClient}
	if localEtcd {
		rows = append(rows, pki.CertEtcdCA, pki.CertEtcdServer, pki.CertEtcdPeer, pki.CertEtcdHealthcheck, pki.CertAPIServerEtcdClient)
	}
	layout := pki.Layout()
	store := pki.Store{Dir: dir}
	validity := s.cfg.Server.CertificateValidity
	var nodeIPs []net.IP
	if ip := net.ParseIP(s.cfg.Server.BindAddress); ip != nil && !ip.IsUnspecified() {
		nodeIPs = append(nodeIPs, ip)
	}
	cas := map[string]*pki.CA{}
	for _, name := range rows {
		row, err := layout.Get(name)
		if err != nil {
			return err
		}
		var sans pki.SANs
		if row.SANs == pki.SANEtcd {
			sans = pki.EtcdSANs(s.cfg.NodeName, nodeIPs...)
		}
		spec, err := row.Spec(pki.Profiles(), sans)
		if err != nil {
			return err
		}
		if row.CA == "" {
			ca, err := store.EnsureCA(row.Base, spec)
			if err != nil {
				return err
			}
			cas[row.Name] = ca
		} else {
			if validity > 0 {
				spec.Validity = validity
			}
			if _, err := store.EnsureLeaf(row.Base, cas[row.CA], spec); err != nil {
				return err
			}
		}
		s.printf("[certs] %s certificate and key are in place (%s)", row.Name, row.CertPath(dir))
	}
	return nil
}

// loadClusterCA reads pki/ca.crt and, unless the CA is external,
// pki/ca.key.
func loadClusterCA(dataDir string) (*pki.CA, error) {
	dir := pki.PKIDir(dataDir)
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	certs, err := pki.ParseCertsPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "ca.crt"), err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if errors.Is(err, os.ErrNotExist) {
		return &pki.CA{Cert: certs[0]}, nil // external CA: sign nothing
	}
	if err != nil {
		return nil, err
	}
	return pki.LoadCA(certPEM, keyPEM, nil)
}

package pki

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// SANKind says where a certificate's SANs come from; the caller that
// ensures the certificate computes them (for example APIServerSANs).
type SANKind string

// The SAN kinds.
const (
	SANNone      SANKind = ""          // no SANs: CAs and client certificates
	SANAPIServer SANKind = "apiserver" // see APIServerSANs
	SANEtcd      SANKind = "etcd"      // see EtcdSANs
)

// Names of the entries in Layout.
const (
	CertCA        = "ca"
	CertAPIServer = "apiserver"
	CertAdmin     = "admin"
	// CertControllerManager is the controller manager's kubeconfig
	// identity (system:kube-controller-manager).
	CertControllerManager = "controller-manager"
	// CertAPIServerKubeletClient is the API server's client certificate
	// towards kubelets (nodes/proxy).
	CertAPIServerKubeletClient = "apiserver-kubelet-client"
	// kubeadm's front proxy (aggregation) and local etcd certificates,
	// made by `kastle init phase certs`.
	CertFrontProxyCA        = "front-proxy-ca"
	CertFrontProxyClient    = "front-proxy-client"
	CertEtcdCA              = "etcd-ca"
	CertEtcdServer          = "etcd-server"
	CertEtcdPeer            = "etcd-peer"
	CertEtcdHealthcheck     = "etcd-healthcheck-client"
	CertAPIServerEtcdClient = "apiserver-etcd-client"
)

// CertFile is one row of the certificate file layout: what a certificate is
// called, where it lives, who signs it and whom it identifies.
type CertFile struct {
	// Name identifies the row (and the CA rows other rows refer to).
	Name string
	// Base is the path under the pki directory without extension, e.g.
	// "apiserver" or "etcd/server": the files are Base+".crt" and
	// Base+".key". Empty when the credentials live in a kubeconfig.
	Base string
	// Kubeconfig is the file, relative to the data directory, that embeds
	// this certificate and key (e.g. "admin.conf"); empty for pki files.
	Kubeconfig string
	// CA is the Name of the signing CA's row; empty for a self-signed CA.
	CA string
	// CommonName and Organization are the subject (user and groups for
	// client certificates).
	CommonName   string
	Organization []string
	// Profile names the signing profile (usages and expiry).
	Profile ProfileName
	// SANs says how the SANs are computed.
	SANs SANKind
}

// CertPath returns the certificate file under pkiDir ("" for kubeconfig rows).
func (f CertFile) CertPath(pkiDir string) string {
	if f.Base == "" {
		return ""
	}
	return filepath.Join(pkiDir, filepath.FromSlash(f.Base)+CertExt)
}

// KeyPath returns the key file under pkiDir ("" for kubeconfig rows).
func (f CertFile) KeyPath(pkiDir string) string {
	if f.Base == "" {
		return ""
	}
	return filepath.Join(pkiDir, filepath.FromSlash(f.Base)+KeyExt)
}

// Spec builds the CertSpec of this row from its profile plus sans.
func (f CertFile) Spec(profiles map[ProfileName]Profile, sans SANs) (CertSpec, error) {
	p, ok := profiles[f.Profile]
	if !ok {
		return CertSpec{}, fmt.Errorf("pki: certificate %q: unknown profile %q", f.Name, f.Profile)
	}
	spec := p.Spec(f.CommonName, f.Organization)
	spec.DNSNames = append(spec.DNSNames, sans.DNSNames...)
	spec.IPs = append(spec.IPs, sans.IPs...)
	return spec, nil
}

// LayoutTable is the certificate file layout: one row per certificate.
type LayoutTable []CertFile

// Layout returns kastle's certificate file layout, with kubeadm's file
// names. Each call returns a new table. Rows are added here as components
// gain certificates (etcd, front-proxy, kubelet client, ...).
func Layout() LayoutTable {
	return LayoutTable{
		{Name: CertCA, Base: "ca", CommonName: "kubernetes", Profile: ProfileCA},
		{Name: CertAPIServer, Base: "apiserver", CA: CertCA, CommonName: "kube-apiserver",
			Profile: ProfileServer, SANs: SANAPIServer},
		{Name: CertAdmin, Kubeconfig: "admin.conf", CA: CertCA, CommonName: "kubernetes-admin",
			Organization: []string{"system:masters"}, Profile: ProfileClient},
		// Not in system:masters: a node controls the address the API server
		// proxies to, so this identity must be worth no more than the
		// kubelet API (the default policy binds it to
		// system:kubelet-api-admin).
		{Name: CertAPIServerKubeletClient, Base: "apiserver-kubelet-client", CA: CertCA, CommonName: "kube-apiserver-kubelet-client",
			Profile: ProfileClient},
		{Name: CertFrontProxyCA, Base: "front-proxy-ca", CommonName: "front-proxy-ca", Profile: ProfileCA},
		{Name: CertFrontProxyClient, Base: "front-proxy-client", CA: CertFrontProxyCA, CommonName: "front-proxy-client", Profile: ProfileClient},
		{Name: CertEtcdCA, Base: "etcd/ca", CommonName: "etcd-ca", Profile: ProfileCA},
		{Name: CertEtcdServer, Base: "etcd/server", CA: CertEtcdCA, CommonName: "kube-etcd", Profile: ProfilePeer, SANs: SANEtcd},
		{Name: CertEtcdPeer, Base: "etcd/peer", CA: CertEtcdCA, CommonName: "kube-etcd-peer", Profile: ProfilePeer, SANs: SANEtcd},
		{Name: CertEtcdHealthcheck, Base: "etcd/healthcheck-client", CA: CertEtcdCA, CommonName: "kube-etcd-healthcheck-client", Profile: ProfileClient},
		{Name: CertAPIServerEtcdClient, Base: "apiserver-etcd-client", CA: CertEtcdCA, CommonName: "kube-apiserver-etcd-client", Profile: ProfileClient},
		{Name: CertControllerManager, Kubeconfig: "controller-manager.conf", CA: CertCA, CommonName: "system:kube-controller-manager",
			Profile: ProfileClient},
	}
}

// Get returns the row called name.
func (t LayoutTable) Get(name string) (CertFile, error) {
	for _, f := range t {
		if f.Name == name {
			return f, nil
		}
	}
	return CertFile{}, fmt.Errorf("pki: no certificate %q in the layout", name)
}

// GetSpec returns the row named name and its spec without extra SANs,
// under the standard profiles: what ensuring a layout certificate needs.
func (t LayoutTable) GetSpec(name string) (CertFile, CertSpec, error) {
	row, err := t.Get(name)
	if err != nil {
		return CertFile{}, CertSpec{}, err
	}
	spec, err := row.Spec(Profiles(), SANs{})
	return row, spec, err
}

// Validate checks the table once, before anything is issued from it: unique
// names and files, exactly one place per row, known profiles, CA rows
// referenced by name, CA profiles exactly on self-signed rows, and clean
// relative paths.
func (t LayoutTable) Validate(profiles map[ProfileName]Profile) error {
	names := map[string]CertFile{}
	files := map[string]string{}
	for _, f := range t {
		if f.Name == "" {
			return fmt.Errorf("pki: layout row with base %q has no name", f.Base)
		}
		if _, dup := names[f.Name]; dup {
			return fmt.Errorf("pki: layout: duplicate name %q", f.Name)
		}
		names[f.Name] = f
		if (f.Base == "") == (f.Kubeconfig == "") {
			return fmt.Errorf("pki: layout %q: exactly one of Base and Kubeconfig must be set", f.Name)
		}
		for _, p := range []string{f.Base, f.Kubeconfig} {
			if p == "" {
				continue
			}
			if path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "..") {
				return fmt.Errorf("pki: layout %q: path %q must be clean and relative", f.Name, p)
			}
			if other, dup := files[p]; dup {
				return fmt.Errorf("pki: layout: %q and %q share file %q", other, f.Name, p)
			}
			files[p] = f.Name
		}
		if f.CommonName == "" {
			return fmt.Errorf("pki: layout %q: no common name", f.Name)
		}
		p, ok := profiles[f.Profile]
		if !ok {
			return fmt.Errorf("pki: layout %q: unknown profile %q", f.Name, f.Profile)
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("pki: profile %q: %w", f.Profile, err)
		}
		if p.IsCA != (f.CA == "") {
			return fmt.Errorf("pki: layout %q: a row is self-signed exactly when its profile is a CA profile", f.Name)
		}
		if p.IsCA && f.Base == "" {
			return fmt.Errorf("pki: layout %q: a CA must live in pki files", f.Name)
		}
	}
	for _, f := range t {
		if f.CA == "" {
			continue
		}
		ca, ok := names[f.CA]
		if !ok {
			return fmt.Errorf("pki: layout %q: unknown CA %q", f.Name, f.CA)
		}
		if !profiles[ca.Profile].IsCA {
			return fmt.Errorf("pki: layout %q: signer %q is not a CA", f.Name, f.CA)
		}
	}
	return nil
}

package cluster

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kastle-dev/kastle/internal/auth/authz/bootstrappolicy"
	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/pki"
)

// The Secret holding the shared control-plane keys, encrypted, and the
// Role that lets joining control planes (bootstrap tokens) read it.
const (
	CertsSecretName = "kastle-certs"
	certsRoleName   = "kastle:kastle-certs"
	// DefaultCertsTTL is how long the uploaded keys stay (kubeadm: 2 h).
	DefaultCertsTTL = 2 * time.Hour
)

// sharedFile is one file every control plane must share, under the data
// directory, and its key in the Secret.
type sharedFile struct{ key, path string }

// sharedFiles lists the CA and service-account keys, the front-proxy CA
// when this node has it (every API server must publish and trust the same
// one, as kubeadm shares it) and, with an external etcd, its CA and the
// API server's client pair.
func sharedFiles(dataDir, etcdCA, etcdCert, etcdKey string) []sharedFile {
	p := pki.PKIDir(dataDir)
	out := []sharedFile{
		{"ca.crt", filepath.Join(p, "ca.crt")}, {"ca.key", filepath.Join(p, "ca.key")},
		{"sa.key", filepath.Join(p, pki.ServiceAccountKeyFile)}, {"sa.pub", filepath.Join(p, pki.ServiceAccountPubKeyFile)},
	}
	for _, f := range []string{"front-proxy-ca.crt", "front-proxy-ca.key"} {
		if _, err := os.Stat(filepath.Join(p, f)); err == nil {
			out = append(out, sharedFile{f, filepath.Join(p, f)})
		}
	}
	if etcdCA != "" {
		out = append(out, sharedFile{"external-etcd-ca.crt", etcdCA}, sharedFile{"external-etcd.crt", etcdCert}, sharedFile{"external-etcd.key", etcdKey})
	}
	return out
}

// GenerateCertificateKey makes a random AES-256 key, hex-encoded.
func GenerateCertificateKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func aead(certKey string) (cipher.AEAD, error) {
	key, err := hex.DecodeString(certKey)
	if err != nil || len(key) != 32 {
		return nil, errors.New("the certificate key must be 64 hex digits (32 bytes)")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// UploadCerts encrypts the shared files with AES-GCM under certKey into
// kube-system/kastle-certs, owned by a bootstrap token Secret that expires
// after ttl (so the token cleaner and the garbage collector remove both),
// and lets the default node bootstrap group read it.
func UploadCerts(ctx context.Context, cs kubernetes.Interface, dataDir, etcdCA, etcdCert, etcdKey, certKey string, ttl time.Duration) error {
	gcm, err := aead(certKey)
	if err != nil {
		return err
	}
	data := map[string][]byte{}
	for _, f := range sharedFiles(dataDir, etcdCA, etcdCert, etcdKey) {
		plain, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("[upload-certs] %w", err)
		}
		nonce := make([]byte, gcm.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return err
		}
		data[f.key] = gcm.Seal(nonce, nonce, plain, []byte(f.key))
	}
	// The owner: a token with no usage, only an expiry.
	tok, err := bootstraptoken.Generate()
	if err != nil {
		return err
	}
	if ttl <= 0 {
		ttl = DefaultCertsTTL
	}
	owner, err := bootstraptoken.Info{Token: tok, Expiration: time.Now().Add(ttl), Description: "Proxy for managing TTL for the kastle-certs secret"}.Secret()
	if err != nil {
		return err
	}
	owner, err = cs.CoreV1().Secrets(owner.Namespace).Create(ctx, owner, metav1.CreateOptions{FieldManager: "kastle-init"})
	if err != nil {
		return fmt.Errorf("[upload-certs] %w", err)
	}
	yes := true
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: CertsSecretName, Namespace: metav1.NamespaceSystem,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Secret", Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: &yes}}},
		Type: corev1.SecretTypeOpaque, Data: data,
	}
	secrets := cs.CoreV1().Secrets(metav1.NamespaceSystem)
	if _, err := secrets.Create(ctx, sec, metav1.CreateOptions{FieldManager: "kastle-init"}); apierrors.IsAlreadyExists(err) {
		cur, gerr := secrets.Get(ctx, CertsSecretName, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		cur.Data, cur.OwnerReferences = sec.Data, sec.OwnerReferences
		_, err = secrets.Update(ctx, cur, metav1.UpdateOptions{FieldManager: "kastle-init"})
		if err != nil {
			return fmt.Errorf("[upload-certs] %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("[upload-certs] %w", err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: certsRoleName, Namespace: metav1.NamespaceSystem},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{CertsSecretName}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{ConfigMapName}, Verbs: []string{"get"}},
		}}
	if _, err := cs.RbacV1().Roles(role.Namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("[upload-certs] %w", err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: certsRoleName, Namespace: metav1.NamespaceSystem},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: certsRoleName},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: bootstrappolicy.DefaultBootstrapperGroup}}}
	if _, err := cs.RbacV1().RoleBindings(rb.Namespace).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("[upload-certs] %w", err)
	}
	return nil
}

// DownloadCerts reads kube-system/kastle-certs with cs (the joining
// node's bootstrap credentials), decrypts it with certKey and writes the
// shared files under dataDir's pki (keys 0600). It returns the paths of
// the external etcd files, if any were uploaded.
func DownloadCerts(ctx context.Context, cs kubernetes.Interface, dataDir, certKey string) (etcdCA, etcdCert, etcdKey string, err error) {
	gcm, err := aead(certKey)
	if err != nil {
		return "", "", "", err
	}
	sec, err := cs.CoreV1().Secrets(metav1.NamespaceSystem).Get(ctx, CertsSecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", "", "", errors.New("[download-certs] kube-system/" + CertsSecretName + " does not exist: the uploaded certificates expired or were never uploaded; run `kastle init phase upload-certs --upload-certs` on a control-plane node")
	}
	if err != nil {
		return "", "", "", fmt.Errorf("[download-certs] %w", err)
	}
	dir := pki.PKIDir(dataDir)
	for key, box := range sec.Data {
		if len(box) < gcm.NonceSize() {
			return "", "", "", fmt.Errorf("[download-certs] %s is too short", key)
		}
		plain, err := gcm.Open(nil, box[:gcm.NonceSize()], box[gcm.NonceSize():], []byte(key))
		if err != nil {
			return "", "", "", fmt.Errorf("[download-certs] %s does not decrypt with this certificate key", key)
		}
		mode := pki.CertFileMode
		if filepath.Ext(key) == ".key" {
			mode = pki.KeyFileMode
		}
		if err := pki.WriteFileAtomic(filepath.Join(dir, filepath.Base(key)), plain, mode, true); err != nil {
			return "", "", "", err
		}
	}
	if _, ok := sec.Data["external-etcd-ca.crt"]; ok {
		return filepath.Join(dir, "external-etcd-ca.crt"), filepath.Join(dir, "external-etcd.crt"), filepath.Join(dir, "external-etcd.key"), nil
	}
	return "", "", "", nil
}

// ConfigMapName is the init configuration's ConfigMap in kube-system.
const ConfigMapName = "kastle-config"

// StoredConfig is what joining control planes read from kastle-config.
type StoredConfig struct {
	ControlPlaneEndpoint string   `json:"controlPlaneEndpoint"`
	EtcdServers          []string `json:"etcdServers"`
	EtcdPrefix           string   `json:"etcdPrefix"`
	ServiceAccountIssuer string   `json:"serviceAccountIssuer"`
}

// ReadStoredConfig reads kube-system/kastle-config.
func ReadStoredConfig(ctx context.Context, cs kubernetes.Interface) (*StoredConfig, error) {
	cm, err := cs.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, ConfigMapName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading kube-system/%s: %w", ConfigMapName, err)
	}
	var c StoredConfig
	if err := yaml.Unmarshal([]byte(cm.Data["InitConfiguration"]), &c); err != nil {
		return nil, fmt.Errorf("kube-system/%s: %w", ConfigMapName, err)
	}
	return &c, nil
}

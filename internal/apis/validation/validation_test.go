package validation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/apis/defaults"
	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func ptr[T any](v T) *T { return &v }

func om(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default"}
}

func clusterMeta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }

// testPKI holds a real CSR and a real certificate made for the tests.
type testPKI struct {
	csrPEM, certPEM []byte
}

func newTestPKI(t testing.TB) testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice", Organization: []string{"devs"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "alice"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return testPKI{
		csrPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert}),
	}
}

func podTemplate(labels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes: []corev1.Volume{{Name: "data"}},
		},
	}
}

// valid returns one valid, defaulted object per kind.
func valid(pki testPKI) map[string]runtime.Object {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	tmpl := podTemplate(map[string]string{"app": "web", "tier": "fe"})
	objs := map[string]runtime.Object{
		"Namespace":      &corev1.Namespace{ObjectMeta: clusterMeta("team-a")},
		"ConfigMap":      &corev1.ConfigMap{ObjectMeta: om("cm"), Data: map[string]string{"a.conf": "x"}, BinaryData: map[string][]byte{"b.bin": {0}}},
		"Secret":         &corev1.Secret{ObjectMeta: om("tls"), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": pki.certPEM, "tls.key": []byte("k")}},
		"ServiceAccount": &corev1.ServiceAccount{ObjectMeta: om("builder")},
		"Node": &corev1.Node{ObjectMeta: clusterMeta("node-1.example"), Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24", PodCIDRs: []string{"10.244.0.0/24"},
			Taints: []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}}},
		"Pod":       &corev1.Pod{ObjectMeta: om("web-0"), Spec: *tmpl.Spec.DeepCopy()},
		"Service":   &corev1.Service{ObjectMeta: om("web"), Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}, {Name: "https", Port: 443}}}},
		"Endpoints": &corev1.Endpoints{ObjectMeta: om("web"), Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.244.0.5"}}, Ports: []corev1.EndpointPort{{Port: 80}}}}},
		"Event": &corev1.Event{ObjectMeta: om("web-0.1"), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0"},
			Reason: "Scheduled", Type: "Normal"},
		"events.Event": &eventsv1.Event{ObjectMeta: om("web-0.2"), EventTime: metav1.NowMicro(), Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0"},
			ReportingController: "kastle.dev/agent", ReportingInstance: "agent-n1", Action: "Binding", Reason: "Scheduled", Type: "Normal", Note: "ok"},
		"Deployment":  &appsv1.Deployment{ObjectMeta: om("web"), Spec: appsv1.DeploymentSpec{Selector: sel.DeepCopy(), Template: *tmpl.DeepCopy()}},
		"ReplicaSet":  &appsv1.ReplicaSet{ObjectMeta: om("web-1"), Spec: appsv1.ReplicaSetSpec{Selector: sel.DeepCopy(), Template: *tmpl.DeepCopy()}},
		"StatefulSet": &appsv1.StatefulSet{ObjectMeta: om("db"), Spec: appsv1.StatefulSetSpec{ServiceName: "db", Selector: sel.DeepCopy(), Template: *tmpl.DeepCopy()}},
		"DaemonSet":   &appsv1.DaemonSet{ObjectMeta: om("agent"), Spec: appsv1.DaemonSetSpec{Selector: sel.DeepCopy(), Template: *tmpl.DeepCopy()}},
		"Lease":       &coordinationv1.Lease{ObjectMeta: om("n1"), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("n1"), LeaseDurationSeconds: ptr(int32(40))}},
		"Role":        &rbacv1.Role{ObjectMeta: om("pod-reader"), Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}},
		"ClusterRole": &rbacv1.ClusterRole{ObjectMeta: clusterMeta("system:healthz"), Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}, {Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}},
		"RoleBinding": &rbacv1.RoleBinding{ObjectMeta: om("read-pods"), RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}, {Kind: "ServiceAccount", Name: "builder"}}},
		"ClusterRoleBinding": &rbacv1.ClusterRoleBinding{ObjectMeta: clusterMeta("system:node-proxier"), RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-proxier"},
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "system:kube-proxy"}, {Kind: "ServiceAccount", Namespace: "kube-system", Name: "kube-proxy"}}},
		"CertificateSigningRequest": &certificatesv1.CertificateSigningRequest{ObjectMeta: clusterMeta("csr-alice"), Spec: certificatesv1.CertificateSigningRequestSpec{
			Request: pki.csrPEM, SignerName: "kubernetes.io/kube-apiserver-client", Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth, certificatesv1.UsageDigitalSignature},
			ExpirationSeconds: ptr(int32(3600))}},
	}
	for _, o := range objs {
		defaults.Default(o)
	}
	return objs
}

func hasError(errs field.ErrorList, path string, typ field.ErrorType) bool {
	for _, e := range errs {
		if e.Field == path && e.Type == typ {
			return true
		}
	}
	return false
}

func TestValidObjectsPass(t *testing.T) {
	for kind, obj := range valid(newTestPKI(t)) {
		if errs := Validate(obj); len(errs) != 0 {
			t.Errorf("%s: unexpected errors: %v", kind, errs)
		}
		upd := obj.DeepCopyObject()
		obj.(metav1.Object).SetResourceVersion("1")
		upd.(metav1.Object).SetResourceVersion("1")
		if errs := ValidateUpdate(upd, obj); len(errs) != 0 {
			t.Errorf("%s: unchanged update rejected: %v", kind, errs)
		}
		if errs := ValidateStatusUpdate(upd, obj); len(errs) != 0 {
			t.Errorf("%s: unchanged status update rejected: %v", kind, errs)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	pki := newTestPKI(t)
	tests := []struct {
		name   string
		kind   string
		mutate func(obj runtime.Object)
		path   string
		typ    field.ErrorType
	}{
		{"namespace name is a DNS label", "Namespace", func(o runtime.Object) { o.(*corev1.Namespace).Name = "a.b" }, "metadata.name", field.ErrorTypeInvalid},
		{"namespace finalizer", "Namespace", func(o runtime.Object) { o.(*corev1.Namespace).Spec.Finalizers = []corev1.FinalizerName{"foo"} }, "spec.finalizers[0]", field.ErrorTypeInvalid},
		{"namespace must be empty for cluster kinds", "Namespace", func(o runtime.Object) { o.(*corev1.Namespace).Namespace = "x" }, "metadata.namespace", field.ErrorTypeForbidden},
		{"configmap namespace required", "ConfigMap", func(o runtime.Object) { o.(*corev1.ConfigMap).Namespace = "" }, "metadata.namespace", field.ErrorTypeRequired},
		{"configmap key", "ConfigMap", func(o runtime.Object) { o.(*corev1.ConfigMap).Data["bad/key"] = "" }, "data[bad/key]", field.ErrorTypeInvalid},
		{"configmap duplicate key", "ConfigMap", func(o runtime.Object) { o.(*corev1.ConfigMap).Data["b.bin"] = "" }, "data[b.bin]", field.ErrorTypeInvalid},
		{"configmap size", "ConfigMap", func(o runtime.Object) { o.(*corev1.ConfigMap).Data["big"] = strings.Repeat("x", 1<<20) }, "[]", field.ErrorTypeTooLong},
		{"configmap bad name", "ConfigMap", func(o runtime.Object) { o.(*corev1.ConfigMap).Name = "Upper" }, "metadata.name", field.ErrorTypeInvalid},
		{"secret tls key", "Secret", func(o runtime.Object) { delete(o.(*corev1.Secret).Data, "tls.key") }, "data[tls.key]", field.ErrorTypeRequired},
		{"secret sa token annotation", "Secret", func(o runtime.Object) { o.(*corev1.Secret).Type = corev1.SecretTypeServiceAccountToken },
			"metadata.annotations[kubernetes.io/service-account.name]", field.ErrorTypeRequired},
		{"secret dockerconfigjson", "Secret", func(o runtime.Object) {
			s := o.(*corev1.Secret)
			s.Type = corev1.SecretTypeDockerConfigJson
			s.Data[".dockerconfigjson"] = []byte("{")
		}, "data[.dockerconfigjson]", field.ErrorTypeInvalid},
		{"secret size", "Secret", func(o runtime.Object) { o.(*corev1.Secret).Data["big"] = make([]byte, 1<<20) }, "data", field.ErrorTypeTooLong},
		{"secret key", "Secret", func(o runtime.Object) { o.(*corev1.Secret).Data["a b"] = nil }, "data[a b]", field.ErrorTypeInvalid},
		{"node taint effect", "Node", func(o runtime.Object) { o.(*corev1.Node).Spec.Taints[0].Effect = "Maybe" }, "spec.taints[0].effect", field.ErrorTypeNotSupported},
		{"node pod cidr", "Node", func(o runtime.Object) { o.(*corev1.Node).Spec.PodCIDRs = []string{"10.0.0.0/33"} }, "spec.podCIDRs[0]", field.ErrorTypeInvalid},
		{"pod containers required", "Pod", func(o runtime.Object) { o.(*corev1.Pod).Spec.Containers = nil }, "spec.containers", field.ErrorTypeRequired},
		{"pod container image", "Pod", func(o runtime.Object) { o.(*corev1.Pod).Spec.Containers[0].Image = "" }, "spec.containers[0].image", field.ErrorTypeRequired},
		{"pod container name", "Pod", func(o runtime.Object) { o.(*corev1.Pod).Spec.Containers[0].Name = "" }, "spec.containers[0].name", field.ErrorTypeRequired},
		{"pod duplicate container", "Pod", func(o runtime.Object) {
			p := o.(*corev1.Pod)
			p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0])
		}, "spec.containers[1].name", field.ErrorTypeDuplicate},
		{"pod restart policy", "Pod", func(o runtime.Object) { o.(*corev1.Pod).Spec.RestartPolicy = "Sometimes" }, "spec.restartPolicy", field.ErrorTypeNotSupported},
		{"pod container port", "Pod", func(o runtime.Object) { o.(*corev1.Pod).Spec.Containers[0].Ports[0].ContainerPort = 70000 }, "spec.containers[0].ports[0].containerPort", field.ErrorTypeInvalid},
		{"pod port protocol", "Pod", func(o runtime.Object) { o.(*corev1.Pod).Spec.Containers[0].Ports[0].Protocol = "ICMP" }, "spec.containers[0].ports[0].protocol", field.ErrorTypeNotSupported},
		{"pod volume mount", "Pod", func(o runtime.Object) { o.(*corev1.Pod).Spec.Volumes = nil }, "spec.containers[0].volumeMounts[0].name", field.ErrorTypeNotFound},
		{"service name is DNS-1035", "Service", func(o runtime.Object) { o.(*corev1.Service).Name = "1web" }, "metadata.name", field.ErrorTypeInvalid},
		{"service type", "Service", func(o runtime.Object) { o.(*corev1.Service).Spec.Type = "Magic" }, "spec.type", field.ErrorTypeNotSupported},
		{"service ports required", "Service", func(o runtime.Object) { o.(*corev1.Service).Spec.Ports = nil }, "spec.ports", field.ErrorTypeRequired},
		{"service port range", "Service", func(o runtime.Object) { o.(*corev1.Service).Spec.Ports[0].Port = 0 }, "spec.ports[0].port", field.ErrorTypeInvalid},
		{"service port protocol", "Service", func(o runtime.Object) { o.(*corev1.Service).Spec.Ports[0].Protocol = "HTTP" }, "spec.ports[0].protocol", field.ErrorTypeNotSupported},
		{"service port name required", "Service", func(o runtime.Object) { o.(*corev1.Service).Spec.Ports[1].Name = "" }, "spec.ports[1].name", field.ErrorTypeRequired},
		{"service nodePort on ClusterIP", "Service", func(o runtime.Object) { o.(*corev1.Service).Spec.Ports[0].NodePort = 30000 }, "spec.ports[0].nodePort", field.ErrorTypeForbidden},
		{"service external name required", "Service", func(o runtime.Object) { o.(*corev1.Service).Spec.Type = corev1.ServiceTypeExternalName }, "spec.externalName", field.ErrorTypeRequired},
		{"service cluster IP", "Service", func(o runtime.Object) { o.(*corev1.Service).Spec.ClusterIP = "10.0.0.300" }, "spec.clusterIP", field.ErrorTypeInvalid},
		{"endpoints loopback", "Endpoints", func(o runtime.Object) { o.(*corev1.Endpoints).Subsets[0].Addresses[0].IP = "127.0.0.1" }, "subsets[0].addresses[0].ip", field.ErrorTypeInvalid},
		{"endpoints port", "Endpoints", func(o runtime.Object) { o.(*corev1.Endpoints).Subsets[0].Ports[0].Port = -1 }, "subsets[0].ports[0].port", field.ErrorTypeInvalid},
		{"event namespace mismatch", "Event", func(o runtime.Object) { o.(*corev1.Event).InvolvedObject.Namespace = "other" }, "involvedObject.namespace", field.ErrorTypeInvalid},
		{"new-style core event needs controller", "Event", func(o runtime.Object) { o.(*corev1.Event).EventTime = metav1.NowMicro() }, "reportingComponent", field.ErrorTypeRequired},
		{"events.k8s.io eventTime", "events.Event", func(o runtime.Object) { o.(*eventsv1.Event).EventTime = metav1.MicroTime{} }, "eventTime", field.ErrorTypeRequired},
		{"events.k8s.io type", "events.Event", func(o runtime.Object) { o.(*eventsv1.Event).Type = "Info" }, "type", field.ErrorTypeNotSupported},
		{"events.k8s.io action", "events.Event", func(o runtime.Object) { o.(*eventsv1.Event).Action = "" }, "action", field.ErrorTypeRequired},
		{"events.k8s.io note length", "events.Event", func(o runtime.Object) { o.(*eventsv1.Event).Note = strings.Repeat("n", 1025) }, "note", field.ErrorTypeInvalid},
		{"deployment selector required", "Deployment", func(o runtime.Object) { o.(*appsv1.Deployment).Spec.Selector = nil }, "spec.selector", field.ErrorTypeRequired},
		{"deployment selector empty", "Deployment", func(o runtime.Object) { o.(*appsv1.Deployment).Spec.Selector = &metav1.LabelSelector{} }, "spec.selector", field.ErrorTypeInvalid},
		{"deployment selector mismatch", "Deployment", func(o runtime.Object) {
			o.(*appsv1.Deployment).Spec.Template.Labels = map[string]string{"app": "other"}
		},
			"spec.template.metadata.labels", field.ErrorTypeInvalid},
		{"deployment replicas", "Deployment", func(o runtime.Object) { o.(*appsv1.Deployment).Spec.Replicas = ptr(int32(-1)) }, "spec.replicas", field.ErrorTypeInvalid},
		{"deployment template restart policy", "Deployment", func(o runtime.Object) {
			o.(*appsv1.Deployment).Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		},
			"spec.template.spec.restartPolicy", field.ErrorTypeNotSupported},
		{"deployment template image", "Deployment", func(o runtime.Object) { o.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Image = "" },
			"spec.template.spec.containers[0].image", field.ErrorTypeRequired},
		{"deployment surge and unavailable zero", "Deployment", func(o runtime.Object) {
			ru := o.(*appsv1.Deployment).Spec.Strategy.RollingUpdate
			ru.MaxSurge, ru.MaxUnavailable = ptr(intstr.FromInt32(0)), ptr(intstr.FromString("0%"))
		}, "spec.strategy.rollingUpdate.maxUnavailable", field.ErrorTypeInvalid},
		{"deployment recreate with rollingUpdate", "Deployment", func(o runtime.Object) {
			o.(*appsv1.Deployment).Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
		},
			"spec.strategy.rollingUpdate", field.ErrorTypeForbidden},
		{"replicaset selector", "ReplicaSet", func(o runtime.Object) { o.(*appsv1.ReplicaSet).Spec.Selector = nil }, "spec.selector", field.ErrorTypeRequired},
		{"replicaset replicas", "ReplicaSet", func(o runtime.Object) { o.(*appsv1.ReplicaSet).Spec.Replicas = ptr(int32(-3)) }, "spec.replicas", field.ErrorTypeInvalid},
		{"statefulset selector mismatch", "StatefulSet", func(o runtime.Object) { o.(*appsv1.StatefulSet).Spec.Template.Labels = nil }, "spec.template.metadata.labels", field.ErrorTypeInvalid},
		{"statefulset pod management", "StatefulSet", func(o runtime.Object) { o.(*appsv1.StatefulSet).Spec.PodManagementPolicy = "Random" }, "spec.podManagementPolicy", field.ErrorTypeInvalid},
		{"daemonset selector bad", "DaemonSet", func(o runtime.Object) {
			o.(*appsv1.DaemonSet).Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}
		}, "spec.selector.matchExpressions[0].operator", field.ErrorTypeInvalid},
		{"daemonset update strategy", "DaemonSet", func(o runtime.Object) { o.(*appsv1.DaemonSet).Spec.UpdateStrategy.Type = "Eventually" }, "spec.updateStrategy.type", field.ErrorTypeNotSupported},
		{"lease duration", "Lease", func(o runtime.Object) { o.(*coordinationv1.Lease).Spec.LeaseDurationSeconds = ptr(int32(0)) }, "spec.leaseDurationSeconds", field.ErrorTypeInvalid},
		{"role verbs", "Role", func(o runtime.Object) { o.(*rbacv1.Role).Rules[0].Verbs = nil }, "rules[0].verbs", field.ErrorTypeRequired},
		{"role apiGroups", "Role", func(o runtime.Object) { o.(*rbacv1.Role).Rules[0].APIGroups = nil }, "rules[0].apiGroups", field.ErrorTypeRequired},
		{"role resources", "Role", func(o runtime.Object) { o.(*rbacv1.Role).Rules[0].Resources = nil }, "rules[0].resources", field.ErrorTypeRequired},
		{"role non-resource URLs", "Role", func(o runtime.Object) {
			o.(*rbacv1.Role).Rules = []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}}
		}, "rules[0].nonResourceURLs", field.ErrorTypeInvalid},
		{"role name path segment", "Role", func(o runtime.Object) { o.(*rbacv1.Role).Name = "a/b" }, "metadata.name", field.ErrorTypeInvalid},
		{"clusterrole mixed rule", "ClusterRole", func(o runtime.Object) { o.(*rbacv1.ClusterRole).Rules[0].Resources = []string{"pods"} }, "rules[0].nonResourceURLs", field.ErrorTypeInvalid},
		{"rolebinding roleRef kind", "RoleBinding", func(o runtime.Object) { o.(*rbacv1.RoleBinding).RoleRef.Kind = "User" }, "roleRef.kind", field.ErrorTypeNotSupported},
		{"rolebinding roleRef apiGroup", "RoleBinding", func(o runtime.Object) { o.(*rbacv1.RoleBinding).RoleRef.APIGroup = "" }, "roleRef.apiGroup", field.ErrorTypeNotSupported},
		{"rolebinding subject kind", "RoleBinding", func(o runtime.Object) { o.(*rbacv1.RoleBinding).Subjects[0].Kind = "Robot" }, "subjects[0].kind", field.ErrorTypeNotSupported},
		{"rolebinding subject name", "RoleBinding", func(o runtime.Object) { o.(*rbacv1.RoleBinding).Subjects[0].Name = "" }, "subjects[0].name", field.ErrorTypeRequired},
		{"rolebinding sa apiGroup", "RoleBinding", func(o runtime.Object) { o.(*rbacv1.RoleBinding).Subjects[1].APIGroup = "rbac.authorization.k8s.io" }, "subjects[1].apiGroup", field.ErrorTypeNotSupported},
		{"clusterrolebinding Role ref", "ClusterRoleBinding", func(o runtime.Object) { o.(*rbacv1.ClusterRoleBinding).RoleRef.Kind = "Role" }, "roleRef.kind", field.ErrorTypeNotSupported},
		{"clusterrolebinding sa namespace", "ClusterRoleBinding", func(o runtime.Object) { o.(*rbacv1.ClusterRoleBinding).Subjects[1].Namespace = "" }, "subjects[1].namespace", field.ErrorTypeRequired},
		{"csr request garbage", "CertificateSigningRequest", func(o runtime.Object) { o.(*certificatesv1.CertificateSigningRequest).Spec.Request = []byte("hello") }, "spec.request", field.ErrorTypeInvalid},
		{"csr request is a certificate", "CertificateSigningRequest", func(o runtime.Object) { o.(*certificatesv1.CertificateSigningRequest).Spec.Request = pki.certPEM }, "spec.request", field.ErrorTypeInvalid},
		{"csr bad signature", "CertificateSigningRequest", func(o runtime.Object) {
			c := o.(*certificatesv1.CertificateSigningRequest)
			block, _ := pem.Decode(c.Spec.Request)
			block.Bytes[len(block.Bytes)-3] ^= 0xff
			c.Spec.Request = pem.EncodeToMemory(block)
		}, "spec.request", field.ErrorTypeInvalid},
		{"csr signer required", "CertificateSigningRequest", func(o runtime.Object) { o.(*certificatesv1.CertificateSigningRequest).Spec.SignerName = "" }, "spec.signerName", field.ErrorTypeRequired},
		{"csr signer format", "CertificateSigningRequest", func(o runtime.Object) {
			o.(*certificatesv1.CertificateSigningRequest).Spec.SignerName = "kube-apiserver-client"
		}, "spec.signerName", field.ErrorTypeInvalid},
		{"csr signer domain", "CertificateSigningRequest", func(o runtime.Object) {
			o.(*certificatesv1.CertificateSigningRequest).Spec.SignerName = "localhost/signer"
		}, "spec.signerName", field.ErrorTypeInvalid},
		{"csr usages required", "CertificateSigningRequest", func(o runtime.Object) { o.(*certificatesv1.CertificateSigningRequest).Spec.Usages = nil }, "spec.usages", field.ErrorTypeRequired},
		{"csr usage value", "CertificateSigningRequest", func(o runtime.Object) { o.(*certificatesv1.CertificateSigningRequest).Spec.Usages[1] = "root" }, "spec.usages[1]", field.ErrorTypeNotSupported},
		{"csr usage duplicate", "CertificateSigningRequest", func(o runtime.Object) { o.(*certificatesv1.CertificateSigningRequest).Spec.Usages[1] = "client auth" }, "spec.usages[1]", field.ErrorTypeDuplicate},
		{"csr expiration", "CertificateSigningRequest", func(o runtime.Object) {
			o.(*certificatesv1.CertificateSigningRequest).Spec.ExpirationSeconds = ptr(int32(599))
		}, "spec.expirationSeconds", field.ErrorTypeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := valid(pki)[tt.kind]
			tt.mutate(obj)
			errs := Validate(obj)
			if !hasError(errs, tt.path, tt.typ) {
				t.Errorf("want %s error on %q, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestValidateUpdateRejects(t *testing.T) {
	pki := newTestPKI(t)
	tests := []struct {
		name   string
		kind   string
		old    func(obj runtime.Object) // adjusts the stored object
		mutate func(obj runtime.Object) // makes the update
		path   string
		typ    field.ErrorType
	}{
		{"name immutable", "ConfigMap", nil, func(o runtime.Object) { o.(*corev1.ConfigMap).Name = "other" }, "metadata.name", field.ErrorTypeInvalid},
		{"uid immutable", "ConfigMap", func(o runtime.Object) { o.(*corev1.ConfigMap).UID = "a" }, func(o runtime.Object) { o.(*corev1.ConfigMap).UID = "b" }, "metadata.uid", field.ErrorTypeInvalid},
		{"resourceVersion required", "ConfigMap", nil, func(o runtime.Object) { o.(*corev1.ConfigMap).ResourceVersion = "" }, "metadata.resourceVersion", field.ErrorTypeInvalid},
		{"immutable configmap data", "ConfigMap", func(o runtime.Object) { o.(*corev1.ConfigMap).Immutable = ptr(true) },
			func(o runtime.Object) { o.(*corev1.ConfigMap).Data["a.conf"] = "y" }, "data", field.ErrorTypeForbidden},
		{"immutable configmap flag", "ConfigMap", func(o runtime.Object) { o.(*corev1.ConfigMap).Immutable = ptr(true) },
			func(o runtime.Object) { o.(*corev1.ConfigMap).Immutable = ptr(false) }, "immutable", field.ErrorTypeForbidden},
		{"secret type immutable", "Secret", nil, func(o runtime.Object) { o.(*corev1.Secret).Type = corev1.SecretTypeOpaque }, "type", field.ErrorTypeInvalid},
		{"immutable secret data", "Secret", func(o runtime.Object) { o.(*corev1.Secret).Immutable = ptr(true) },
			func(o runtime.Object) { o.(*corev1.Secret).Data["tls.key"] = []byte("k2") }, "data", field.ErrorTypeForbidden},
		{"pod spec forbidden", "Pod", nil, func(o runtime.Object) { o.(*corev1.Pod).Spec.RestartPolicy = corev1.RestartPolicyNever }, "spec", field.ErrorTypeForbidden},
		{"pod activeDeadline increase", "Pod", func(o runtime.Object) { o.(*corev1.Pod).Spec.ActiveDeadlineSeconds = ptr(int64(10)) },
			func(o runtime.Object) { o.(*corev1.Pod).Spec.ActiveDeadlineSeconds = ptr(int64(20)) }, "spec.activeDeadlineSeconds", field.ErrorTypeInvalid},
		{"pod toleration removed", "Pod", func(o runtime.Object) {
			o.(*corev1.Pod).Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
		}, func(o runtime.Object) { o.(*corev1.Pod).Spec.Tolerations = nil }, "spec.tolerations", field.ErrorTypeForbidden},
		{"service clusterIP immutable", "Service", func(o runtime.Object) { o.(*corev1.Service).Spec.ClusterIP = "10.96.0.10" },
			func(o runtime.Object) { o.(*corev1.Service).Spec.ClusterIP = "10.96.0.11" }, "spec.clusterIPs[0]", field.ErrorTypeInvalid},
		{"deployment selector immutable", "Deployment", nil, func(o runtime.Object) {
			d := o.(*appsv1.Deployment)
			d.Spec.Selector.MatchLabels["tier"] = "fe"
		}, "spec.selector", field.ErrorTypeInvalid},
		{"replicaset selector immutable", "ReplicaSet", nil, func(o runtime.Object) {
			o.(*appsv1.ReplicaSet).Spec.Selector.MatchLabels = map[string]string{"tier": "fe"}
		}, "spec.selector", field.ErrorTypeInvalid},
		{"daemonset selector immutable", "DaemonSet", nil, func(o runtime.Object) {
			o.(*appsv1.DaemonSet).Spec.Selector.MatchLabels = map[string]string{"tier": "fe"}
		}, "spec.selector", field.ErrorTypeInvalid},
		{"statefulset serviceName", "StatefulSet", nil, func(o runtime.Object) { o.(*appsv1.StatefulSet).Spec.ServiceName = "db2" }, "spec", field.ErrorTypeForbidden},
		{"rolebinding roleRef immutable", "RoleBinding", nil, func(o runtime.Object) { o.(*rbacv1.RoleBinding).RoleRef.Name = "admin" }, "roleRef", field.ErrorTypeInvalid},
		{"clusterrolebinding roleRef immutable", "ClusterRoleBinding", nil, func(o runtime.Object) { o.(*rbacv1.ClusterRoleBinding).RoleRef.Name = "admin" }, "roleRef", field.ErrorTypeInvalid},
		{"csr spec immutable", "CertificateSigningRequest", nil, func(o runtime.Object) {
			o.(*certificatesv1.CertificateSigningRequest).Spec.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageServerAuth}
		}, "spec", field.ErrorTypeInvalid},
		{"events.k8s.io reason immutable", "events.Event", nil, func(o runtime.Object) { o.(*eventsv1.Event).Reason = "Other" }, "reason", field.ErrorTypeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := valid(pki)[tt.kind]
			old.(metav1.Object).SetResourceVersion("7")
			if tt.old != nil {
				tt.old(old)
			}
			obj := old.DeepCopyObject()
			tt.mutate(obj)
			errs := ValidateUpdate(obj, old)
			if !hasError(errs, tt.path, tt.typ) {
				t.Errorf("want %s error on %q, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestPodUpdateAllowed(t *testing.T) {
	old := valid(newTestPKI(t))["Pod"].(*corev1.Pod)
	old.ResourceVersion = "3"
	old.Spec.ActiveDeadlineSeconds = ptr(int64(100))
	pod := old.DeepCopy()
	pod.Spec.Containers[0].Image = "nginx:1.28"
	pod.Spec.ActiveDeadlineSeconds = ptr(int64(50))
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists})
	if errs := ValidateUpdate(pod, old); len(errs) != 0 {
		t.Errorf("allowed pod update rejected: %v", errs)
	}
	if errs := ValidateUpdate(pod, &corev1.Service{}); len(errs) != 1 || errs[0].Type != field.ErrorTypeInternal {
		t.Errorf("type mismatch not reported: %v", errs)
	}
}

func TestCSRStatusUpdate(t *testing.T) {
	pki := newTestPKI(t)
	cond := func(ty certificatesv1.RequestConditionType) certificatesv1.CertificateSigningRequestCondition {
		return certificatesv1.CertificateSigningRequestCondition{Type: ty, Status: corev1.ConditionTrue, Reason: "r"}
	}
	approved := []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved)}
	tests := []struct {
		name      string
		oldStatus certificatesv1.CertificateSigningRequestStatus
		newStatus certificatesv1.CertificateSigningRequestStatus
		path      string
		typ       field.ErrorType
	}{
		{"approve", certificatesv1.CertificateSigningRequestStatus{}, certificatesv1.CertificateSigningRequestStatus{Conditions: approved}, "", ""},
		{"issue", certificatesv1.CertificateSigningRequestStatus{Conditions: approved},
			certificatesv1.CertificateSigningRequestStatus{Conditions: approved, Certificate: pki.certPEM}, "", ""},
		{"approved and denied", certificatesv1.CertificateSigningRequestStatus{},
			certificatesv1.CertificateSigningRequestStatus{Conditions: append(approved, cond(certificatesv1.CertificateDenied))}, "status.conditions", field.ErrorTypeInvalid},
		{"duplicate approved", certificatesv1.CertificateSigningRequestStatus{},
			certificatesv1.CertificateSigningRequestStatus{Conditions: append(approved, cond(certificatesv1.CertificateApproved))}, "status.conditions[1].type", field.ErrorTypeDuplicate},
		{"approved must be True", certificatesv1.CertificateSigningRequestStatus{},
			certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionFalse}}},
			"status.conditions[0].status", field.ErrorTypeNotSupported},
		{"condition removed", certificatesv1.CertificateSigningRequestStatus{Conditions: approved}, certificatesv1.CertificateSigningRequestStatus{}, "status.conditions", field.ErrorTypeForbidden},
		{"certificate not PEM", certificatesv1.CertificateSigningRequestStatus{Conditions: approved},
			certificatesv1.CertificateSigningRequestStatus{Conditions: approved, Certificate: []byte("nope")}, "status.certificate", field.ErrorTypeInvalid},
		{"certificate is a CSR", certificatesv1.CertificateSigningRequestStatus{Conditions: approved},
			certificatesv1.CertificateSigningRequestStatus{Conditions: approved, Certificate: pki.csrPEM}, "status.certificate", field.ErrorTypeInvalid},
		{"certificate without approval", certificatesv1.CertificateSigningRequestStatus{},
			certificatesv1.CertificateSigningRequestStatus{Certificate: pki.certPEM}, "status.certificate", field.ErrorTypeInvalid},
		{"certificate replaced", certificatesv1.CertificateSigningRequestStatus{Conditions: approved, Certificate: pki.certPEM},
			certificatesv1.CertificateSigningRequestStatus{Conditions: approved, Certificate: append(append([]byte{}, pki.certPEM...), pki.certPEM...)}, "status.certificate", field.ErrorTypeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := valid(pki)["CertificateSigningRequest"].(*certificatesv1.CertificateSigningRequest)
			old.ResourceVersion = "5"
			old.Status = tt.oldStatus
			csr := old.DeepCopy()
			csr.Status = tt.newStatus
			errs := ValidateStatusUpdate(csr, old)
			if tt.path == "" {
				if len(errs) != 0 {
					t.Errorf("unexpected errors: %v", errs)
				}
				return
			}
			if !hasError(errs, tt.path, tt.typ) {
				t.Errorf("want %s error on %q, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestUnknownTypes(t *testing.T) {
	for _, obj := range []runtime.Object{nil, &corev1.Binding{}, (*corev1.Pod)(nil)} {
		if errs := Validate(obj); len(errs) != 0 {
			t.Errorf("Validate(%T) = %v", obj, errs)
		}
		if errs := ValidateUpdate(obj, obj); len(errs) != 0 {
			t.Errorf("ValidateUpdate(%T) = %v", obj, errs)
		}
		if errs := ValidateStatusUpdate(obj, obj); len(errs) != 0 {
			t.Errorf("ValidateStatusUpdate(%T) = %v", obj, errs)
		}
	}
}

func TestMessages(t *testing.T) {
	// kubectl shows these strings verbatim; keep them Kubernetes-shaped.
	pki := newTestPKI(t)
	old := valid(pki)["Pod"].(*corev1.Pod)
	old.ResourceVersion = "1"
	pod := old.DeepCopy()
	pod.Spec.DNSPolicy = corev1.DNSDefault
	errs := ValidateUpdate(pod, old)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`") {
		t.Errorf("pod update message = %v", errs)
	}
	d := valid(pki)["Deployment"].(*appsv1.Deployment)
	d.Spec.Template.Labels = map[string]string{"x": "y"}
	errs = Validate(d)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "`selector` does not match template `labels`") {
		t.Errorf("deployment selector message = %v", errs)
	}
}

func TestPersistentVolumeClaim(t *testing.T) {
	gi := resource.MustParse("1Gi")
	pvc := func(edit func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns"},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: gi}}}}
		if edit != nil {
			edit(c)
		}
		return c
	}
	for name, tc := range map[string]struct {
		c    *corev1.PersistentVolumeClaim
		want string
	}{
		"valid":          {pvc(nil), ""},
		"no access mode": {pvc(func(c *corev1.PersistentVolumeClaim) { c.Spec.AccessModes = nil }), "spec.accessModes"},
		"unknown mode": {pvc(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"Sometimes"}
		}), "spec.accessModes[0]"},
		"RWOP with others": {pvc(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteOnce}
		}), "ReadWriteOncePod"},
		"no storage": {pvc(func(c *corev1.PersistentVolumeClaim) { c.Spec.Resources.Requests = nil }), "spec.resources.requests[storage]"},
		"zero storage": {pvc(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
		}), "greater than zero"},
	} {
		errs := Validate(tc.c)
		if (tc.want == "") != (len(errs) == 0) || (tc.want != "" && !strings.Contains(errs.ToAggregate().Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", name, errs, tc.want)
		}
	}
	old := pvc(func(c *corev1.PersistentVolumeClaim) { c.ResourceVersion = "1" })
	grown := pvc(func(c *corev1.PersistentVolumeClaim) {
		c.ResourceVersion = "1"
		c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
	})
	if errs := ValidateUpdate(grown, old); len(errs) != 0 {
		t.Errorf("expansion refused: %v", errs)
	}
	if errs := ValidateUpdate(old, grown); len(errs) == 0 {
		t.Errorf("shrinking accepted")
	}
	moved := pvc(func(c *corev1.PersistentVolumeClaim) {
		c.ResourceVersion = "1"
		c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
	})
	if errs := ValidateUpdate(moved, old); len(errs) == 0 {
		t.Errorf("access modes changed after creation")
	}
}

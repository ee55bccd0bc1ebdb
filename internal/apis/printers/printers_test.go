package printers

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	now     = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	created = metav1.NewTime(now.Add(-5 * time.Minute))
)

func om(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: created}
}

func ptr[T any](v T) *T { return &v }

// headers renders column names as kubectl does (upper case), with wide
// columns marked by a leading "+".
func headers(cols []metav1.TableColumnDefinition) string {
	var out []string
	for _, c := range cols {
		h := strings.ToUpper(c.Name)
		if c.Priority > 0 {
			h = "+" + h
		}
		out = append(out, h)
	}
	return strings.Join(out, "|")
}

func TestPrinters(t *testing.T) {
	tests := []struct {
		group, kind string
		obj         runtime.Object
		headers     string
		cells       []interface{}
	}{
		{"", "Namespace", &corev1.Namespace{ObjectMeta: om("ns1"), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
			"NAME|STATUS|AGE", []interface{}{"ns1", "Active", "5m"}},
		{"", "ConfigMap", &corev1.ConfigMap{ObjectMeta: om("cm"), Data: map[string]string{"a": "1"}, BinaryData: map[string][]byte{"b": {1}}},
			"NAME|DATA|AGE", []interface{}{"cm", int64(2), "5m"}},
		{"", "Secret", &corev1.Secret{ObjectMeta: om("s"), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
			"NAME|TYPE|DATA|AGE", []interface{}{"s", "kubernetes.io/tls", int64(2), "5m"}},
		{"", "ServiceAccount", &corev1.ServiceAccount{ObjectMeta: om("default")},
			"NAME|SECRETS|AGE", []interface{}{"default", int64(0), "5m"}},
		{"", "Node", &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: metav1.NewTime(now.Add(-50 * time.Hour)),
				Labels: map[string]string{"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker", "other": "x"}},
			Spec: corev1.NodeSpec{Unschedulable: true},
			Status: corev1.NodeStatus{
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
				Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "h"}, {Type: corev1.NodeInternalIP, Address: "10.0.0.1"}},
				NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.32.0", OSImage: "Debian", KernelVersion: "6.1", ContainerRuntimeVersion: "containerd://2.0"},
			}},
			"NAME|STATUS|ROLES|AGE|VERSION|+INTERNAL-IP|+EXTERNAL-IP|+OS-IMAGE|+KERNEL-VERSION|+CONTAINER-RUNTIME",
			[]interface{}{"n1", "Ready,SchedulingDisabled", "control-plane,worker", "2d2h", "v1.32.0", "10.0.0.1", "<none>", "Debian", "6.1", "containerd://2.0"}},
		{"", "Node", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "bare"}},
			"", []interface{}{"bare", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}},
		{"", "Pod", &corev1.Pod{ObjectMeta: om("p"),
			Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "a"}, {Name: "b"}},
				ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "x"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.1.0.5"}},
				Conditions: []corev1.PodCondition{{Type: "x", Status: corev1.ConditionTrue}},
				ContainerStatuses: []corev1.ContainerStatus{
					{Name: "a", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, RestartCount: 2,
						LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(now.Add(-90 * time.Second))}}},
					{Name: "b", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
				}}},
			"NAME|READY|STATUS|RESTARTS|AGE|+IP|+NODE|+NOMINATED NODE|+READINESS GATES",
			[]interface{}{"p", "1/2", "Running", "2 (90s ago)", "5m", "10.1.0.5", "n1", "<none>", "1/1"}},
		{"", "Pod", &corev1.Pod{ObjectMeta: om("crash"),
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "a", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}}},
			"", []interface{}{"crash", "0/1", "CrashLoopBackOff", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"", "Pod", &corev1.Pod{ObjectMeta: om("init"),
			Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i1"}, {Name: "i2"}}, Containers: []corev1.Container{{Name: "a"}}},
			Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "i1", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}},
				{Name: "i2", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}},
			"", []interface{}{"init", "0/1", "Init:1/2", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"", "Pod", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "del", CreationTimestamp: created, DeletionTimestamp: &created},
			Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}},
			"", []interface{}{"del", "0/1", "Terminating", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"", "Service", &corev1.Service{ObjectMeta: om("web"), Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.10", Selector: map[string]string{"app": "web", "tier": "fe"},
			Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}}}},
			"NAME|TYPE|CLUSTER-IP|EXTERNAL-IP|PORT(S)|AGE|+SELECTOR",
			[]interface{}{"web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP,53/UDP", "5m", "app=web,tier=fe"}},
		{"", "Service", &corev1.Service{ObjectMeta: om("lb"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}},
			"", []interface{}{"lb", "LoadBalancer", "<none>", "<pending>", "<none>", "5m", "<none>"}},
		{"", "Service", &corev1.Service{ObjectMeta: om("ext"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}},
			"", []interface{}{"ext", "ExternalName", "<none>", "example.com", "<none>", "5m", "<none>"}},
		{"", "Endpoints", &corev1.Endpoints{ObjectMeta: om("web"), Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}, {IP: "10.0.0.3"}, {IP: "10.0.0.4"}},
			Ports:     []corev1.EndpointPort{{Port: 8080}}}}},
			"NAME|ENDPOINTS|AGE", []interface{}{"web", "10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 1 more...", "5m"}},
		{"", "Endpoints", &corev1.Endpoints{ObjectMeta: om("empty")},
			"", []interface{}{"empty", "<none>", "5m"}},
		{"", "Event", &corev1.Event{ObjectMeta: om("p.1"), Type: "Normal", Reason: "Scheduled", Message: " assigned \n",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", FieldPath: "spec.containers{a}"},
			Source:         corev1.EventSource{Component: "kubelet", Host: "n1"},
			FirstTimestamp: metav1.NewTime(now.Add(-10 * time.Minute)), LastTimestamp: metav1.NewTime(now.Add(-time.Minute)), Count: 3},
			"LAST SEEN|TYPE|REASON|OBJECT|+SUBOBJECT|+SOURCE|MESSAGE|+FIRST SEEN|+COUNT|+NAME",
			[]interface{}{"60s", "Normal", "Scheduled", "pod/p", "spec.containers{a}", "kubelet, n1", "assigned", "10m", int64(3), "p.1"}},
		{"events.k8s.io", "Event", &eventsv1.Event{ObjectMeta: om("e"), Type: "Warning", Reason: "Failed", Note: "boom",
			Regarding: corev1.ObjectReference{Kind: "Node"}, EventTime: metav1.NewMicroTime(now.Add(-2 * time.Hour)),
			ReportingController: "kastle.dev/agent"},
			"LAST SEEN|TYPE|REASON|OBJECT|+SUBOBJECT|+SOURCE|MESSAGE|+FIRST SEEN|+COUNT|+NAME",
			[]interface{}{"120m", "Warning", "Failed", "node", "", "kastle.dev/agent", "boom", "120m", int64(1), "e"}},
		{"apps", "Deployment", &appsv1.Deployment{ObjectMeta: om("d"),
			Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "d"}},
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "nginx"}, {Name: "b", Image: "busybox:1"}}}}},
			Status: appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}},
			"NAME|READY|UP-TO-DATE|AVAILABLE|AGE|+CONTAINERS|+IMAGES|+SELECTOR",
			[]interface{}{"d", "2/3", int64(3), int64(2), "5m", "a,b", "nginx,busybox:1", "app=d"}},
		{"apps", "ReplicaSet", &appsv1.ReplicaSet{ObjectMeta: om("rs"),
			Spec:   appsv1.ReplicaSetSpec{Replicas: ptr(int32(2)), Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"x", "y"}}}}},
			Status: appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 1}},
			"NAME|DESIRED|CURRENT|READY|AGE|+CONTAINERS|+IMAGES|+SELECTOR",
			[]interface{}{"rs", int64(2), int64(2), int64(1), "5m", "", "", "app in (x,y)"}},
		{"apps", "StatefulSet", &appsv1.StatefulSet{ObjectMeta: om("ss"), Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(1))}},
			"NAME|READY|AGE|+CONTAINERS|+IMAGES", []interface{}{"ss", "0/1", "5m", "", ""}},
		{"apps", "DaemonSet", &appsv1.DaemonSet{ObjectMeta: om("ds"),
			Spec:   appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{NodeSelector: map[string]string{"kubernetes.io/os": "linux"}}}},
			Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 3, NumberAvailable: 2}},
			"NAME|DESIRED|CURRENT|READY|UP-TO-DATE|AVAILABLE|NODE SELECTOR|AGE|+CONTAINERS|+IMAGES|+SELECTOR",
			[]interface{}{"ds", int64(3), int64(3), int64(2), int64(3), int64(2), "kubernetes.io/os=linux", "5m", "", "", ""}},
		{"coordination.k8s.io", "Lease", &coordinationv1.Lease{ObjectMeta: om("l"), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("n1")}},
			"NAME|HOLDER|AGE", []interface{}{"l", "n1", "5m"}},
		{"rbac.authorization.k8s.io", "Role", &rbacv1.Role{ObjectMeta: om("r")},
			"NAME|CREATED AT", []interface{}{"r", "2026-11-01T11:55:00Z"}},
		{"rbac.authorization.k8s.io", "ClusterRole", &rbacv1.ClusterRole{ObjectMeta: om("cr")},
			"NAME|CREATED AT", []interface{}{"cr", "2026-11-01T11:55:00Z"}},
		{"rbac.authorization.k8s.io", "RoleBinding", &rbacv1.RoleBinding{ObjectMeta: om("rb"),
			RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "r"},
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}, {Kind: "User", Name: "bob"}, {Kind: "Group", Name: "devs"},
				{Kind: "ServiceAccount", Namespace: "kube-system", Name: "sa"}}},
			"NAME|ROLE|AGE|+USERS|+GROUPS|+SERVICEACCOUNTS",
			[]interface{}{"rb", "Role/r", "5m", "alice, bob", "devs", "kube-system:sa"}},
		{"rbac.authorization.k8s.io", "ClusterRoleBinding", &rbacv1.ClusterRoleBinding{ObjectMeta: om("crb"),
			RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}},
			"NAME|ROLE|AGE|+USERS|+GROUPS|+SERVICEACCOUNTS",
			[]interface{}{"crb", "ClusterRole/cluster-admin", "5m", "", "", ""}},
		{"certificates.k8s.io", "CertificateSigningRequest", &certificatesv1.CertificateSigningRequest{ObjectMeta: om("csr"),
			Spec: certificatesv1.CertificateSigningRequestSpec{SignerName: "kubernetes.io/kube-apiserver-client", Username: "alice", ExpirationSeconds: ptr(int32(86400))},
			Status: certificatesv1.CertificateSigningRequestStatus{Certificate: []byte("x"),
				Conditions: []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}}},
			"NAME|AGE|SIGNERNAME|REQUESTOR|REQUESTEDDURATION|CONDITION",
			[]interface{}{"csr", "5m", "kubernetes.io/kube-apiserver-client", "alice", "24h", "Approved,Issued"}},
		{"certificates.k8s.io", "CertificateSigningRequest", &certificatesv1.CertificateSigningRequest{ObjectMeta: om("p")},
			"", []interface{}{"p", "5m", "", "", "<none>", "Pending"}},
		{"certificates.k8s.io", "CertificateSigningRequest", &certificatesv1.CertificateSigningRequest{ObjectMeta: om("d"),
			Status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{
				{Type: certificatesv1.CertificateApproved}, {Type: certificatesv1.CertificateDenied}}}},
			"", []interface{}{"d", "5m", "", "", "<none>", "Denied"}},
		{"apiextensions.k8s.io", "CustomResourceDefinition", &apiextensionsv1.CustomResourceDefinition{ObjectMeta: om("foos.example.com")},
			"NAME|CREATED AT", []interface{}{"foos.example.com", "2026-11-01T11:55:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.cells[0].(string), func(t *testing.T) {
			checkPrinted(t, tt.group, tt.kind, tt.obj, tt.headers, tt.cells)
		})
	}
}

func TestRowRejectsWrongType(t *testing.T) {
	p, _ := For(schema.GroupKind{Kind: "Pod"})
	for _, obj := range []runtime.Object{nil, &corev1.Service{}, (*corev1.Pod)(nil)} {
		if _, err := p.Row(obj, now); err == nil {
			t.Errorf("Row(%T) succeeded", obj)
		}
	}
}

func TestUnknownKindAndDefault(t *testing.T) {
	if _, ok := For(schema.GroupKind{Group: "example.com", Kind: "Foo"}); ok {
		t.Error("For(unknown) returned a printer")
	}
	p := Default()
	if got := headers(p.Columns); got != "NAME|AGE" {
		t.Errorf("Default headers = %s", got)
	}
	cells, err := p.Row(&corev1.PodTemplate{ObjectMeta: om("x")}, now)
	if err != nil || !reflect.DeepEqual(cells, []interface{}{"x", "5m"}) {
		t.Errorf("Default row = %v, %v", cells, err)
	}
	if _, err := p.Row(nil, now); err == nil {
		t.Error("Default Row(nil) succeeded")
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{30 * time.Second, "30s"},
		{5 * time.Minute, "5m"},
		{3*time.Hour + 10*time.Minute, "3h10m"},
		{49 * time.Hour, "2d1h"},
		{400 * 24 * time.Hour, "400d"},
	}
	for _, tt := range tests {
		if got := age(metav1.NewTime(now.Add(-tt.ago)), now); got != tt.want {
			t.Errorf("age(%v) = %s, want %s", tt.ago, got, tt.want)
		}
	}
	if got := age(metav1.Time{}, now); got != "<unknown>" {
		t.Errorf("age(zero) = %s", got)
	}
}

// checkPrinted prints obj with the printer of group/kind and checks the
// headers (when given), the cells, and that every column is described and
// integer columns hold int64 cells.
func checkPrinted(t *testing.T, group, kind string, obj runtime.Object, wantHeaders string, want []interface{}) {
	t.Helper()
	p, ok := For(schema.GroupKind{Group: group, Kind: kind})
	if !ok {
		t.Fatalf("no printer for %s/%s", group, kind)
	}
	if wantHeaders != "" {
		if got := headers(p.Columns); got != wantHeaders {
			t.Errorf("headers\n got %s\nwant %s", got, wantHeaders)
		}
	}
	cells, err := p.Row(obj, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != len(p.Columns) {
		t.Fatalf("%d cells for %d columns", len(cells), len(p.Columns))
	}
	if !reflect.DeepEqual(cells, want) {
		t.Errorf("cells\n got %#v\nwant %#v", cells, want)
	}
	if _, err := json.Marshal(cells); err != nil {
		t.Errorf("cells not JSON-serializable: %v", err)
	}
	for i, c := range p.Columns {
		if c.Type == "integer" {
			if _, ok := cells[i].(int64); !ok {
				t.Errorf("column %s is integer but cell is %T", c.Name, cells[i])
			}
		}
		if c.Description == "" {
			t.Errorf("column %s has no description", c.Name)
		}
	}
}

package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// builtinsMoreManifest holds one valid object of each kind of the
// discovery, networking, node, scheduling, storage, flowcontrol and
// apiregistration groups.
const builtinsMoreManifest = `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: NS}
addressType: IPv4
endpoints:
- addresses: ["10.0.0.1"]
- addresses: ["10.0.0.2"]
ports:
- {name: http, port: 80}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: e2e-nginx}
spec:
  controller: example.com/ingress-controller
  parameters: {apiGroup: k8s.example.com, kind: IngressParameters, name: external-lb}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: manifest-ing, namespace: NS}
spec:
  ingressClassName: e2e-nginx
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /cart, pathType: Prefix, backend: {service: {name: cart, port: {number: 8080}}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-only, namespace: NS}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from:
    - ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}
    ports:
    - {port: 5432}
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: e2e-gvisor}
handler: runsc
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: e2e-fast
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/fast
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: e2e.csi.example.com}
spec: {}
---
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata: {name: e2e-node-1}
spec:
  drivers:
  - {name: e2e.csi.example.com, nodeID: node-1}
---
apiVersion: storage.k8s.io/v1
kind: CSIStorageCapacity
metadata: {name: cap-1, namespace: NS}
storageClassName: e2e-fast
capacity: 10Gi
---
apiVersion: storage.k8s.io/v1
kind: VolumeAttachment
metadata: {name: e2e-va}
spec:
  attacher: e2e.csi.example.com
  nodeName: e2e-node-1
  source: {persistentVolumeName: pv-1}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: e2e-level}
spec:
  type: Limited
  limited:
    limitResponse:
      type: Queue
      queuing: {}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: e2e-schema}
spec:
  priorityLevelConfiguration: {name: e2e-level}
  rules:
  - subjects: [{kind: Group, group: {name: e2e-users}}]
    resourceRules: [{verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"]}]
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: e2e-orphan}
spec:
  priorityLevelConfiguration: {name: no-such-level}
  rules:
  - subjects: [{kind: User, user: {name: someone}}]
    nonResourceRules: [{verbs: [get], nonResourceURLs: ["/healthz"]}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.e2e.example.com}
spec:
  group: metrics.e2e.example.com
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  service: {namespace: kube-system, name: metrics-server}
`

// rowOf returns the whitespace-separated cells of the table line whose
// first cell is name.
func rowOf(t *testing.T, table, name string) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if f := fields(line); len(f) > 0 && f[0] == name {
			return f
		}
	}
	t.Fatalf("no row %q in:\n%s", name, table)
	return nil
}

// wantCells fails unless row starts with the given cells ("" skips one).
func wantCells(t *testing.T, row []string, cells ...string) {
	t.Helper()
	if len(row) < len(cells) {
		t.Fatalf("row %q shorter than %q", row, cells)
	}
	for i, c := range cells {
		if c != "" && row[i] != c {
			t.Errorf("row %q: cell %d = %q, want %q", row, i, row[i], c)
		}
	}
}

// TestBuiltinsMore drives the networking, storage, scheduling, discovery,
// flowcontrol, node and apiregistration resources with the real kubectl
// against a private server: discovery, create/get/list, printer columns,
// kubectl's generators, 422s for invalid objects and immutable fields,
// the objects made at start (and restored at the next), and the Local
// APIServices following CRDs.
func TestBuiltinsMore(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	ns := s.namespace(t)

	t.Run("api-resources", func(t *testing.T) {
		out := s.mustKubectl(t, "api-resources", "-o", "wide")
		verbs := "create,delete,deletecollection,get,list,patch,update,watch"
		for _, tc := range []struct{ name, short, apiVersion, namespaced, kind string }{
			{"endpointslices", "", "discovery.k8s.io/v1", "true", "EndpointSlice"},
			{"ingresses", "ing", "networking.k8s.io/v1", "true", "Ingress"},
			{"ingressclasses", "", "networking.k8s.io/v1", "false", "IngressClass"},
			{"networkpolicies", "netpol", "networking.k8s.io/v1", "true", "NetworkPolicy"},
			{"runtimeclasses", "", "node.k8s.io/v1", "false", "RuntimeClass"},
			{"priorityclasses", "pc", "scheduling.k8s.io/v1", "false", "PriorityClass"},
			{"csidrivers", "", "storage.k8s.io/v1", "false", "CSIDriver"},
			{"csinodes", "", "storage.k8s.io/v1", "false", "CSINode"},
			{"csistoragecapacities", "", "storage.k8s.io/v1", "true", "CSIStorageCapacity"},
			{"storageclasses", "sc", "storage.k8s.io/v1", "false", "StorageClass"},
			{"volumeattachments", "", "storage.k8s.io/v1", "false", "VolumeAttachment"},
			{"flowschemas", "", "flowcontrol.apiserver.k8s.io/v1", "false", "FlowSchema"},
			{"prioritylevelconfigurations", "", "flowcontrol.apiserver.k8s.io/v1", "false", "PriorityLevelConfiguration"},
			{"apiservices", "", "apiregistration.k8s.io/v1", "false", "APIService"},
		} {
			want := []string{tc.name}
			if tc.short != "" {
				want = append(want, tc.short)
			}
			want = append(want, tc.apiVersion, tc.namespaced, tc.kind, verbs)
			row := rowOf(t, out, tc.name)
			if got := strings.Join(row, " "); !strings.HasPrefix(got, strings.Join(want, " ")) {
				t.Errorf("api-resources row %q, want %q", got, want)
			}
		}
		mustContain(t, strings.Join(rowOf(t, out, "apiservices"), " "), "api-extensions")
	})

	t.Run("create and print", func(t *testing.T) {
		s.mustKubectlWith(t, runOpts{stdin: strings.ReplaceAll(builtinsMoreManifest, "NS", ns)}, "apply", "-f", "-")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "endpointslices", "-n", ns), "web-abc"), "web-abc", "IPv4", "80", "10.0.0.1,10.0.0.2")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "ingressclasses"), "e2e-nginx"),
			"e2e-nginx", "example.com/ingress-controller", "IngressParameters.k8s.example.com/external-lb")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "ing", "-n", ns), "manifest-ing"), "manifest-ing", "e2e-nginx", "shop.example.com", "80")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "netpol", "-n", ns), "db-only"), "db-only", "role=db")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "runtimeclasses"), "e2e-gvisor"), "e2e-gvisor", "runsc")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "sc"), "e2e-fast"), "e2e-fast", "(default)", "example.com/fast", "Delete", "Immediate", "false")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "csidrivers"), "e2e.csi.example.com"),
			"e2e.csi.example.com", "true", "false", "false", "<unset>", "false", "Persistent")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "csinodes"), "e2e-node-1"), "e2e-node-1", "1")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "csistoragecapacities", "-n", ns), "cap-1"), "cap-1", "e2e-fast", "10Gi")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "volumeattachments"), "e2e-va"), "e2e-va", "e2e.csi.example.com", "pv-1", "e2e-node-1", "false")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "prioritylevelconfigurations"), "e2e-level"), "e2e-level", "Limited", "30", "64", "8", "50")
		// An APIService naming a missing service is not available.
		eventually(t, 10*time.Second, func() string {
			row := rowOf(t, s.mustKubectl(t, "get", "apiservices"), "v1beta1.metrics.e2e.example.com")
			if strings.Join(row[:4], " ") != "v1beta1.metrics.e2e.example.com kube-system/metrics-server False (ServiceNotFound)" {
				return "want False (ServiceNotFound), got " + strings.Join(row, " ")
			}
			return ""
		})
		// Defaults are stored, as kube-apiserver stores them.
		mustContain(t, s.mustKubectl(t, "get", "sc", "e2e-fast", "-o", "yaml"), "reclaimPolicy: Delete", "volumeBindingMode: Immediate")
		mustContain(t, s.mustKubectl(t, "get", "netpol", "db-only", "-n", ns, "-o", "yaml"), "protocol: TCP", "- Ingress")
		mustContain(t, s.mustKubectl(t, "get", "apiservice", "v1beta1.metrics.e2e.example.com", "-o", "yaml"), "port: 443")
		// Generation moves with the spec of ingresses.
		mustContain(t, s.mustKubectl(t, "get", "ing", "manifest-ing", "-n", ns, "-o", "jsonpath={.metadata.generation}"), "1")
		// The Dangling condition follows the referenced priority level.
		eventually(t, 10*time.Second, func() string {
			out := s.mustKubectl(t, "get", "flowschemas")
			a, b := fields(firstLine(out)), rowOf(t, out, "e2e-schema")
			if len(b) != len(a) || b[len(b)-1] != "False" || rowOf(t, out, "e2e-orphan")[len(a)-1] != "True" {
				return "MISSINGPL not False/True yet:\n" + out
			}
			return ""
		})
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "flowschemas"), "e2e-schema"), "e2e-schema", "e2e-level", "1000", "<none>")
		// Lists and field selectors on metadata.name.
		out := s.mustKubectl(t, "get", "sc", "--field-selector", "metadata.name=e2e-fast", "-o", "name")
		if strings.TrimSpace(out) != "storageclass.storage.k8s.io/e2e-fast" {
			t.Errorf("field-selected list = %q", out)
		}
	})

	t.Run("kubectl create ingress and priorityclass", func(t *testing.T) {
		s.mustKubectl(t, "create", "ingress", "web", "-n", ns, "--class=e2e-nginx", "--rule=foo.com/bar*=svc1:8080,tls=my-cert")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "ingress", "-n", ns), "web"), "web", "e2e-nginx", "foo.com", "80,", "443")
		y := s.mustKubectl(t, "get", "ingress", "web", "-n", ns, "-o", "yaml")
		mustContain(t, y, "pathType: Prefix", "path: /bar", "number: 8080", "secretName: my-cert")
		s.mustKubectl(t, "create", "priorityclass", "e2e-high", "--value=1000", "--description=high priority", "--preemption-policy=Never")
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "pc"), "e2e-high"), "e2e-high", "1000", "false", "", "Never")
	})

	t.Run("objects made at start", func(t *testing.T) {
		out := s.mustKubectl(t, "get", "priorityclasses")
		wantCells(t, rowOf(t, out, "system-cluster-critical"), "system-cluster-critical", "2000000000", "false", "", "PreemptLowerPriority")
		wantCells(t, rowOf(t, out, "system-node-critical"), "system-node-critical", "2000001000", "false")
		if h := strings.Join(fields(firstLine(out)), " "); h != "NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY" {
			t.Errorf("priorityclasses header %q", h)
		}
		// The Dangling conditions are set by a controller: wait for them.
		eventually(t, 10*time.Second, func() string {
			out = s.mustKubectl(t, "get", "flowschemas")
			if strings.Contains(out, " ?\n") {
				return "MISSINGPL not set yet:\n" + out
			}
			return ""
		})
		if h := strings.Join(fields(firstLine(out)), " "); h != "NAME PRIORITYLEVEL MATCHINGPRECEDENCE DISTINGUISHERMETHOD AGE MISSINGPL" {
			t.Errorf("flowschemas header %q", h)
		}
		for _, fs := range []struct{ name, level, prec, method string }{
			{"exempt", "exempt", "1", "<none>"}, {"probes", "exempt", "2", "<none>"},
			{"system-leader-election", "leader-election", "100", "ByUser"}, {"system-node-high", "node-high", "400", "ByUser"},
			{"system-nodes", "system", "500", "ByUser"}, {"kube-controller-manager", "workload-high", "800", "ByNamespace"},
			{"kube-scheduler", "workload-high", "800", "ByNamespace"}, {"kube-system-service-accounts", "workload-high", "900", "ByNamespace"},
			{"service-accounts", "workload-low", "9000", "ByUser"}, {"global-default", "global-default", "9900", "ByUser"},
			{"catch-all", "catch-all", "10000", "ByUser"},
		} {
			row := rowOf(t, out, fs.name)
			wantCells(t, row, fs.name, fs.level, fs.prec, fs.method)
			if row[len(row)-1] != "False" {
				t.Errorf("flowschema %s MISSINGPL = %q, want False", fs.name, row[len(row)-1])
			}
		}
		out = s.mustKubectl(t, "get", "prioritylevelconfigurations")
		wantCells(t, rowOf(t, out, "exempt"), "exempt", "Exempt", "<none>", "<none>", "<none>", "<none>")
		wantCells(t, rowOf(t, out, "catch-all"), "catch-all", "Limited", "5", "<none>")
		for _, pl := range [][]string{{"system", "30"}, {"node-high", "40"}, {"leader-election", "10"}, {"workload-high", "40"}, {"workload-low", "100"}, {"global-default", "20"}} {
			wantCells(t, rowOf(t, out, pl[0]), pl[0], "Limited", pl[1])
		}
		out = s.mustKubectl(t, "get", "apiservices")
		if h := strings.Join(fields(firstLine(out)), " "); h != "NAME SERVICE AVAILABLE AGE" {
			t.Errorf("apiservices header %q", h)
		}
		for _, name := range []string{"v1.", "v1.apps", "v1.rbac.authorization.k8s.io", "v1.networking.k8s.io", "v1.storage.k8s.io",
			"v1.flowcontrol.apiserver.k8s.io", "v1.apiregistration.k8s.io", "v1.discovery.k8s.io"} {
			wantCells(t, rowOf(t, out, name), name, "Local", "True")
		}
		mustContain(t, s.mustKubectl(t, "get", "apiservice", "v1.apps", "-o", "yaml"),
			"reason: Local", "Local APIServices are always available", "kube-aggregator.kubernetes.io/automanaged: onstart", "groupPriorityMinimum: 17800")
	})

	t.Run("invalid objects are 422", func(t *testing.T) {
		for _, tc := range []struct{ name, manifest, want string }{
			{"ingress without pathType", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bad, namespace: NS}
spec:
  rules:
  - http:
      paths:
      - {path: /, backend: {service: {name: s, port: {number: 80}}}}`, "spec.rules[0].http.paths[0].pathType: Required value"},
			{"ingress without rules or backend", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: bad, namespace: NS}\nspec: {}",
				"either `defaultBackend` or `rules` must be specified"},
			{"endpointslice bad address", "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: bad, namespace: NS}\naddressType: IPv4\nendpoints: [{addresses: [\"fe80::1\"]}]",
				"endpoints[0].addresses[0]: Invalid value"},
			{"reserved priority class", "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: system-mine}\nvalue: 10",
				"metadata.name: Forbidden: priority class names with 'system-' prefix are reserved"},
			{"storageclass without provisioner", "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: bad}",
				"provisioner: Required value"},
			{"volumeattachment without source", "apiVersion: storage.k8s.io/v1\nkind: VolumeAttachment\nmetadata: {name: bad}\nspec: {attacher: a.b, nodeName: node-1, source: {}}",
				"spec.source: Required value"},
			{"runtimeclass bad handler", "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: bad}\nhandler: Not_A_Label",
				"handler: Invalid value"},
			{"mandatory flowschema changed", `apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: catch-all}
spec:
  matchingPrecedence: 5000
  priorityLevelConfiguration: {name: catch-all}`, "spec of 'catch-all' must equal the fixed value"},
			{"apiservice misnamed", `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: wrong}
spec: {group: a.example.com, version: v1, groupPriorityMinimum: 10, versionPriority: 10}`, "must be `spec.version+\".\"+spec.group`"},
			{"apiservice without service name", `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1.b.example.com}
spec: {group: b.example.com, version: v1, groupPriorityMinimum: 10, versionPriority: 10, service: {namespace: x}}`, "spec.service.name: Required value"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := s.kubectlWith(t, runOpts{stdin: strings.ReplaceAll(tc.manifest, "NS", ns)}, "apply", "-f", "-")
				if r.code == 0 || !strings.Contains(r.stderr, "is invalid") || !strings.Contains(r.stderr, tc.want) {
					t.Errorf("want an invalid error with %q, got %s", tc.want, r)
				}
			})
		}
		// The code itself, through client-go.
		cs := s.clientset(t)
		ctx := context.Background()
		_, err := cs.NetworkingV1().Ingresses(ns).Create(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "bad"},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "s", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}},
			metav1.CreateOptions{})
		if st, ok := err.(apierrors.APIStatus); !ok || st.Status().Code != 422 || !apierrors.IsInvalid(err) {
			t.Errorf("ingress without pathType: %v, want a 422 Invalid", err)
		}
		_, err = cs.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "too-high"}, Value: 1000000001}, metav1.CreateOptions{})
		if st, ok := err.(apierrors.APIStatus); !ok || st.Status().Code != 422 {
			t.Errorf("priority class above one billion: %v, want 422", err)
		}
	})

	t.Run("immutable fields", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"patch", "endpointslice", "web-abc", "-n", ns, "--type=merge", "-p", `{"addressType":"IPv6"}`}, "addressType: Invalid value: \"IPv6\": field is immutable"},
			{[]string{"patch", "pc", "e2e-high", "--type=merge", "-p", `{"value":5}`}, "value: Forbidden: may not be changed in an update."},
			{[]string{"patch", "sc", "e2e-fast", "--type=merge", "-p", `{"provisioner":"example.com/other"}`}, "provisioner: Forbidden: updates to provisioner are forbidden."},
			{[]string{"patch", "ingressclass", "e2e-nginx", "--type=merge", "-p", `{"spec":{"controller":"example.com/other"}}`}, "spec.controller: Invalid value"},
			{[]string{"patch", "volumeattachment", "e2e-va", "--type=merge", "-p", `{"spec":{"nodeName":"other"}}`}, "spec: Invalid value"},
		} {
			r := s.kubectl(t, tc.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("kubectl %s: want %q, got %s", strings.Join(tc.args, " "), tc.want, r)
			}
		}
		// Status subresources: the main resource ignores status, status
		// writes land.
		s.mustKubectl(t, "patch", "volumeattachment", "e2e-va", "--subresource=status", "--type=merge", "-p", `{"status":{"attached":true}}`)
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "volumeattachments"), "e2e-va"), "e2e-va", "", "", "", "true")
		s.mustKubectl(t, "patch", "ing", "manifest-ing", "-n", ns, "--subresource=status", "--type=merge", "-p", `{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}`)
		wantCells(t, rowOf(t, s.mustKubectl(t, "get", "ing", "-n", ns), "manifest-ing"), "manifest-ing", "e2e-nginx", "shop.example.com", "192.0.2.10", "80")
		// Status writes leave generation alone; spec writes move it.
		gen := func() string {
			return s.mustKubectl(t, "get", "ing", "manifest-ing", "-n", ns, "-o", "jsonpath={.metadata.generation}")
		}
		if g := gen(); g != "1" {
			t.Errorf("generation after a status write = %s, want 1", g)
		}
		s.mustKubectl(t, "patch", "ing", "manifest-ing", "-n", ns, "--type=json", "-p", `[{"op":"replace","path":"/spec/rules/0/host","value":"store.example.com"}]`)
		if g := gen(); g != "2" {
			t.Errorf("generation after a spec write = %s, want 2", g)
		}
		mustContain(t, s.mustKubectl(t, "explain", "apiservice.spec"), "Only https is supported")
		cs := s.clientset(t)
		sc, err := cs.StorageV1().StorageClasses().Get(context.Background(), "e2e-fast", metav1.GetOptions{})
		if err != nil || sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
			t.Errorf("storage class via client-go: %v %+v", err, sc)
		}
	})

	t.Run("APIServices follow CRDs", func(t *testing.T) {
		crd := strings.ReplaceAll(widgetCRD, "e2e.kastle.dev", "more.e2e.kastle.dev")
		s.mustKubectlWith(t, runOpts{stdin: crd}, "apply", "-f", "-")
		eventually(t, 20*time.Second, func() string {
			out := s.mustKubectl(t, "get", "apiservices")
			for _, line := range strings.Split(out, "\n") {
				if f := fields(line); len(f) >= 3 && f[0] == "v1.more.e2e.kastle.dev" && f[1] == "Local" && f[2] == "True" {
					return ""
				}
			}
			return "no Local, available v1.more.e2e.kastle.dev:\n" + out
		})
		mustContain(t, s.mustKubectl(t, "get", "apiservice", "v1.more.e2e.kastle.dev", "-o", "yaml"),
			"kube-aggregator.kubernetes.io/automanaged: \"true\"", "groupPriorityMinimum: 1000")
		s.mustKubectl(t, "delete", "crd", "widgets.more.e2e.kastle.dev")
		eventually(t, 30*time.Second, func() string {
			if r := s.kubectl(t, "get", "apiservice", "v1.more.e2e.kastle.dev"); r.code == 0 {
				return "APIService of the deleted CRD still there"
			}
			return ""
		})
	})

	t.Run("mandatory objects come back at start", func(t *testing.T) {
		s.mustKubectl(t, "delete", "flowschema", "catch-all", "exempt")
		s.mustKubectl(t, "delete", "prioritylevelconfiguration", "catch-all")
		s.mustKubectl(t, "delete", "pc", "system-node-critical")
		rvs := func(srv *server) string {
			return srv.mustKubectl(t, "get", "flowschema/global-default", "prioritylevelconfiguration/workload-low", "pc/system-cluster-critical",
				"apiservice/v1.apps", "-o", "jsonpath={.items[*].metadata.resourceVersion}")
		}
		before := rvs(s)
		s2 := s.restart(t, syscall.SIGTERM)
		// Objects already in place are not written again.
		if after := rvs(s2); after != before {
			t.Errorf("start-up objects rewritten by a restart: resourceVersions %q, then %q", before, after)
		}
		out := s2.mustKubectl(t, "get", "flowschemas")
		wantCells(t, rowOf(t, out, "catch-all"), "catch-all", "catch-all", "10000")
		wantCells(t, rowOf(t, out, "exempt"), "exempt", "exempt", "1")
		wantCells(t, rowOf(t, s2.mustKubectl(t, "get", "prioritylevelconfigurations"), "catch-all"), "catch-all", "Limited", "5")
		wantCells(t, rowOf(t, s2.mustKubectl(t, "get", "pc"), "system-node-critical"), "system-node-critical", "2000001000")
		// Objects made by users survive the restart untouched.
		wantCells(t, rowOf(t, s2.mustKubectl(t, "get", "pc"), "e2e-high"), "e2e-high", "1000")
	})
}

package defaults

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{
			{Name: "a", Image: "nginx", Ports: []corev1.ContainerPort{{ContainerPort: 80}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
				Resources:      corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}},
			{Name: "b", Image: "registry.local:5000/busybox:1.36"},
			{Name: "c", Image: "registry.local:5000/busybox"},
			{Name: "d", Image: "busybox@sha256:abcd"},
			{Name: "e", Image: "busybox:latest", ImagePullPolicy: corev1.PullNever},
		},
		Volumes: []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}, {Name: "scratch"}},
	}
}

// checkPodSpec asserts the pod-template defaults on a defaulted spec.
func checkPodSpec(t *testing.T, s *corev1.PodSpec) {
	t.Helper()
	if s.RestartPolicy != corev1.RestartPolicyAlways || s.DNSPolicy != corev1.DNSClusterFirst ||
		s.SchedulerName != "default-scheduler" || s.TerminationGracePeriodSeconds == nil || *s.TerminationGracePeriodSeconds != 30 ||
		s.SecurityContext == nil || s.EnableServiceLinks == nil || !*s.EnableServiceLinks {
		t.Errorf("pod spec defaults missing: %+v", s)
	}
	wantPull := []corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}
	for i, c := range s.Containers {
		if c.ImagePullPolicy != wantPull[i] {
			t.Errorf("container %s imagePullPolicy = %s, want %s", c.Name, c.ImagePullPolicy, wantPull[i])
		}
		if c.TerminationMessagePath != "/dev/termination-log" || c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
			t.Errorf("container %s termination message defaults missing", c.Name)
		}
	}
	a := s.Containers[0]
	if a.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("container port protocol = %q", a.Ports[0].Protocol)
	}
	if p := a.ReadinessProbe; p.TimeoutSeconds != 1 || p.PeriodSeconds != 10 || p.SuccessThreshold != 1 || p.FailureThreshold != 3 || p.HTTPGet.Scheme != corev1.URISchemeHTTP || p.HTTPGet.Path != "/" {
		t.Errorf("probe defaults: %+v", p)
	}
	if q := a.Resources.Requests[corev1.ResourceCPU]; q.String() != "1" {
		t.Errorf("requests not defaulted from limits: %v", a.Resources.Requests)
	}
	if m := s.Volumes[0].ConfigMap.DefaultMode; m == nil || *m != 0o644 {
		t.Errorf("configMap defaultMode = %v", m)
	}
	if s.Volumes[1].EmptyDir == nil {
		t.Error("source-less volume not defaulted to emptyDir")
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name  string
		obj   runtime.Object
		check func(t *testing.T, obj runtime.Object)
	}{
		{"secret type", &corev1.Secret{}, func(t *testing.T, o runtime.Object) {
			if s := o.(*corev1.Secret); s.Type != corev1.SecretTypeOpaque {
				t.Errorf("type = %q", s.Type)
			}
		}},
		{"secret keeps type", &corev1.Secret{Type: corev1.SecretTypeTLS}, func(t *testing.T, o runtime.Object) {
			if s := o.(*corev1.Secret); s.Type != corev1.SecretTypeTLS {
				t.Errorf("type = %q", s.Type)
			}
		}},
		{"namespace create", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, func(t *testing.T, o runtime.Object) {
			ns := o.(*corev1.Namespace)
			if ns.Labels["kubernetes.io/metadata.name"] != "team-a" || ns.Status.Phase != corev1.NamespaceActive ||
				len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != corev1.FinalizerKubernetes {
				t.Errorf("namespace = %+v", ns)
			}
		}},
		{"namespace finalize keeps finalizers removed", &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{"kubernetes.io/metadata.name": "forged"}},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}, func(t *testing.T, o runtime.Object) {
			ns := o.(*corev1.Namespace)
			if len(ns.Spec.Finalizers) != 0 || ns.Labels["kubernetes.io/metadata.name"] != "x" {
				t.Errorf("namespace = %+v", ns)
			}
		}},
		{"service", &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}, {Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}}}},
			func(t *testing.T, o runtime.Object) {
				s := o.(*corev1.Service).Spec
				if s.Type != corev1.ServiceTypeClusterIP || s.SessionAffinity != corev1.ServiceAffinityNone ||
					s.IPFamilyPolicy == nil || *s.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack ||
					s.InternalTrafficPolicy == nil || *s.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster || s.ExternalTrafficPolicy != "" {
					t.Errorf("service spec = %+v", s)
				}
				if s.Ports[0].Protocol != corev1.ProtocolTCP || s.Ports[0].TargetPort != intstr.FromInt32(80) {
					t.Errorf("port 0 = %+v", s.Ports[0])
				}
				if s.Ports[1].Protocol != corev1.ProtocolUDP || s.Ports[1].TargetPort != intstr.FromString("dns") {
					t.Errorf("port 1 = %+v", s.Ports[1])
				}
			}},
		{"service load balancer", &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, SessionAffinity: corev1.ServiceAffinityClientIP}},
			func(t *testing.T, o runtime.Object) {
				s := o.(*corev1.Service).Spec
				if s.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster || s.AllocateLoadBalancerNodePorts == nil ||
					*s.SessionAffinityConfig.ClientIP.TimeoutSeconds != 10800 {
					t.Errorf("service spec = %+v", s)
				}
			}},
		{"service external name", &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName}},
			func(t *testing.T, o runtime.Object) {
				if s := o.(*corev1.Service).Spec; s.IPFamilyPolicy != nil || s.InternalTrafficPolicy != nil {
					t.Errorf("ExternalName got IP defaults: %+v", s)
				}
			}},
		{"pod", &corev1.Pod{Spec: podSpec()}, func(t *testing.T, o runtime.Object) {
			p := o.(*corev1.Pod)
			checkPodSpec(t, &p.Spec)
			if p.Spec.Priority != nil || p.Spec.PreemptionPolicy != nil || p.Status.Phase != corev1.PodPending {
				t.Errorf("pod priority/phase defaults: %+v", p)
			}
		}},
		{"pod host network ports", &corev1.Pod{Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}},
			func(t *testing.T, o runtime.Object) {
				if hp := o.(*corev1.Pod).Spec.Containers[0].Ports[0].HostPort; hp != 8080 {
					t.Errorf("hostPort = %d", hp)
				}
			}},
		{"deployment", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: podSpec()}}}, func(t *testing.T, o runtime.Object) {
			d := o.(*appsv1.Deployment).Spec
			checkPodSpec(t, &d.Template.Spec)
			if *d.Replicas != 1 || d.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
				d.Strategy.RollingUpdate.MaxSurge.String() != "25%" || d.Strategy.RollingUpdate.MaxUnavailable.String() != "25%" ||
				*d.RevisionHistoryLimit != 10 || *d.ProgressDeadlineSeconds != 600 {
				t.Errorf("deployment spec = %+v", d)
			}
			if d.Template.Spec.Priority != nil {
				t.Error("templates must not get a priority (admission sets it on pods only)")
			}
		}},
		{"deployment recreate", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}},
			func(t *testing.T, o runtime.Object) {
				if o.(*appsv1.Deployment).Spec.Strategy.RollingUpdate != nil {
					t.Error("Recreate strategy got rollingUpdate")
				}
			}},
		{"replicaset", &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{Spec: podSpec()}}}, func(t *testing.T, o runtime.Object) {
			rs := o.(*appsv1.ReplicaSet).Spec
			checkPodSpec(t, &rs.Template.Spec)
			if *rs.Replicas != 1 {
				t.Errorf("replicas = %d", *rs.Replicas)
			}
		}},
		{"statefulset", &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{Spec: podSpec()},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{}}}}, func(t *testing.T, o runtime.Object) {
			s := o.(*appsv1.StatefulSet).Spec
			checkPodSpec(t, &s.Template.Spec)
			if *s.Replicas != 1 || s.PodManagementPolicy != appsv1.OrderedReadyPodManagement ||
				s.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType || *s.UpdateStrategy.RollingUpdate.Partition != 0 ||
				*s.RevisionHistoryLimit != 10 || s.PersistentVolumeClaimRetentionPolicy.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType ||
				s.PersistentVolumeClaimRetentionPolicy.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType ||
				*s.VolumeClaimTemplates[0].Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
				t.Errorf("statefulset spec = %+v", s)
			}
		}},
		{"daemonset", &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: podSpec()}}}, func(t *testing.T, o runtime.Object) {
			d := o.(*appsv1.DaemonSet).Spec
			checkPodSpec(t, &d.Template.Spec)
			ru := d.UpdateStrategy.RollingUpdate
			if d.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru.MaxUnavailable.String() != "1" || ru.MaxSurge.String() != "0" || *d.RevisionHistoryLimit != 10 {
				t.Errorf("daemonset spec = %+v", d)
			}
		}},
		{"rolebinding subjects", &rbacv1.RoleBinding{Subjects: []rbacv1.Subject{{Kind: "User", Name: "u"}, {Kind: "Group", Name: "g"}, {Kind: "ServiceAccount", Name: "s"}}},
			func(t *testing.T, o runtime.Object) {
				s := o.(*rbacv1.RoleBinding).Subjects
				if s[0].APIGroup != rbacv1.GroupName || s[1].APIGroup != rbacv1.GroupName || s[2].APIGroup != "" {
					t.Errorf("subjects = %+v", s)
				}
			}},
		{"clusterrolebinding subjects", &rbacv1.ClusterRoleBinding{Subjects: []rbacv1.Subject{{Kind: "Group", Name: "g"}}},
			func(t *testing.T, o runtime.Object) {
				if s := o.(*rbacv1.ClusterRoleBinding).Subjects; s[0].APIGroup != rbacv1.GroupName {
					t.Errorf("subjects = %+v", s)
				}
			}},
		{"endpoints port protocol", &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 1}}}}},
			func(t *testing.T, o runtime.Object) {
				if p := o.(*corev1.Endpoints).Subsets[0].Ports[0].Protocol; p != corev1.ProtocolTCP {
					t.Errorf("protocol = %q", p)
				}
			}},
		{"csr untouched", &certificatesv1.CertificateSigningRequest{}, func(t *testing.T, o runtime.Object) {
			if u := o.(*certificatesv1.CertificateSigningRequest).Spec.Usages; u != nil {
				t.Errorf("usages defaulted: %v", u)
			}
		}},
		{"lease untouched", &coordinationv1.Lease{}, func(*testing.T, runtime.Object) {}},
		{"event untouched", &eventsv1.Event{}, func(*testing.T, runtime.Object) {}},
		{"typed nil", (*corev1.Pod)(nil), func(*testing.T, runtime.Object) {}},
		{"nil", nil, func(*testing.T, runtime.Object) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Default(tt.obj)
			tt.check(t, tt.obj)
			if tt.obj == nil || tt.name == "typed nil" {
				return
			}
			once := tt.obj.DeepCopyObject()
			Default(tt.obj)
			if !apiequality.Semantic.DeepEqual(once, tt.obj) {
				t.Errorf("Default is not idempotent:\n once %+v\ntwice %+v", once, tt.obj)
			}
		})
	}
}

func TestPullPolicyFor(t *testing.T) {
	tests := map[string]corev1.PullPolicy{
		"nginx":                         corev1.PullAlways,
		"nginx:latest":                  corev1.PullAlways,
		"nginx:1.27":                    corev1.PullIfNotPresent,
		"localhost:5000/app":            corev1.PullAlways,
		"localhost:5000/app:v1":         corev1.PullIfNotPresent,
		"app@sha256:0123":               corev1.PullIfNotPresent,
		"":                              corev1.PullAlways,
		"registry.k8s.io/pause:3.10":    corev1.PullIfNotPresent,
		"registry.k8s.io/pause:latest@": corev1.PullIfNotPresent,
	}
	for image, want := range tests {
		if got := pullPolicyFor(image); got != want {
			t.Errorf("pullPolicyFor(%q) = %s, want %s", image, got, want)
		}
	}
}

func TestSecretStringData(t *testing.T) {
	s := &corev1.Secret{Data: map[string][]byte{"a": []byte("old"), "b": []byte("keep")}, StringData: map[string]string{"a": "new", "c": "added"}}
	Default(s)
	if string(s.Data["a"]) != "new" || string(s.Data["b"]) != "keep" || string(s.Data["c"]) != "added" || s.StringData != nil {
		t.Errorf("after defaulting: data %q, stringData %v", s.Data, s.StringData)
	}
}

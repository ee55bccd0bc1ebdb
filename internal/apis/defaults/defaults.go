package defaults

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Default values, named after the Kubernetes constants they mirror.
const (
	defaultSchedulerName          = "default-scheduler"
	defaultTerminationGracePeriod = int64(30)
	defaultTerminationMessagePath = "/dev/termination-log"
	defaultRevisionHistoryLimit   = int32(10)
	defaultProgressDeadline       = int32(600)
	defaultVolumeMode             = int32(0o644)
	defaultTokenExpiration        = int64(3600)
	defaultSessionAffinityTimeout = int32(10800)
	namespaceFinalizer            = corev1.FinalizerKubernetes
	namespaceNameLabel            = "kubernetes.io/metadata.name"
)

// Default applies kube-apiserver's defaults to obj in place. obj is one of
// the k8s.io/api pointer types of the built-in resources; anything else
// (including nil) is left as it is.
//
// Namespaces get spec.finalizers ["kubernetes"] and status.phase Active only
// while status.phase is empty, i.e. on creation: an update that removes the
// finalizer (namespace finalization) must not see it re-added.
func Default(obj runtime.Object) {
	if defaultCluster(obj) {
		return
	}
	switch o := obj.(type) {
	case *corev1.Namespace:
		if o != nil {
			defaultNamespace(o)
		}
	case *corev1.Secret:
		if o != nil && o.Type == "" {
			o.Type = corev1.SecretTypeOpaque
		}
		if o != nil && len(o.StringData) > 0 {
			// stringData is write-only: it lands in data (winning over
			// the same key there) and is never stored or returned.
			if o.Data == nil {
				o.Data = map[string][]byte{}
			}
			for k, v := range o.StringData {
				o.Data[k] = []byte(v)
			}
			o.StringData = nil
		}
	case *corev1.Pod:
		if o != nil {
			defaultPod(o)
		}
	case *corev1.Service:
		if o != nil {
			defaultService(o)
		}
	case *corev1.PersistentVolumeClaim:
		if o != nil {
			if o.Spec.VolumeMode == nil {
				fs := corev1.PersistentVolumeFilesystem
				o.Spec.VolumeMode = &fs
			}
			if o.Status.Phase == "" {
				o.Status.Phase = corev1.ClaimPending
			}
		}
	case *corev1.Endpoints:
		if o != nil {
			for i := range o.Subsets {
				for j := range o.Subsets[i].Ports {
					setIfEmpty(&o.Subsets[i].Ports[j].Protocol, corev1.ProtocolTCP)
				}
			}
		}
	case *appsv1.Deployment:
		if o != nil {
			defaultDeployment(o)
		}
	case *appsv1.ReplicaSet:
		if o != nil {
			setIfNil(&o.Spec.Replicas, 1)
			defaultPodSpec(&o.Spec.Template.Spec)
		}
	case *appsv1.StatefulSet:
		if o != nil {
			defaultStatefulSet(o)
		}
	case *appsv1.DaemonSet:
		if o != nil {
			defaultDaemonSet(o)
		}
	case *rbacv1.RoleBinding:
		if o != nil {
			defaultSubjects(o.Subjects)
			setIfEmpty(&o.RoleRef.APIGroup, rbacv1.GroupName)
		}
	case *rbacv1.ClusterRoleBinding:
		if o != nil {
			defaultSubjects(o.Subjects)
			setIfEmpty(&o.RoleRef.APIGroup, rbacv1.GroupName)
		}
	default:
		defaultMore(obj)
		DefaultAdmissionRegistration(obj)
	}
}

// setIfEmpty sets *p to v when *p is the zero value of its type.
func setIfEmpty[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// setIfNil points *p at a copy of v when *p is nil.
func setIfNil[T any](p **T, v T) {
	if *p == nil {
		*p = &v
	}
}

func defaultNamespace(ns *corev1.Namespace) {
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	// Always tracks the name so label selectors on namespaces can be trusted.
	ns.Labels[namespaceNameLabel] = ns.Name
	if ns.Status.Phase != "" {
		return
	}
	ns.Status.Phase = corev1.NamespaceActive
	for _, f := range ns.Spec.Finalizers {
		if f == namespaceFinalizer {
			return
		}
	}
	ns.Spec.Finalizers = append(ns.Spec.Finalizers, namespaceFinalizer)
}

func defaultSubjects(subjects []rbacv1.Subject) {
	for i := range subjects {
		s := &subjects[i]
		if s.APIGroup != "" {
			continue
		}
		if s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind {
			s.APIGroup = rbacv1.GroupName
		}
	}
}

func defaultService(s *corev1.Service) {
	spec := &s.Spec
	setIfEmpty(&spec.Type, corev1.ServiceTypeClusterIP)
	setIfEmpty(&spec.SessionAffinity, corev1.ServiceAffinityNone)
	if spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		if spec.SessionAffinityConfig == nil {
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{}
		}
		if spec.SessionAffinityConfig.ClientIP == nil {
			spec.SessionAffinityConfig.ClientIP = &corev1.ClientIPConfig{}
		}
		setIfNil(&spec.SessionAffinityConfig.ClientIP.TimeoutSeconds, defaultSessionAffinityTimeout)
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		setIfEmpty(&p.Protocol, corev1.ProtocolTCP)
		if p.TargetPort == (intstr.IntOrString{}) {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	if spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	if spec.IPFamilyPolicy == nil {
		p := corev1.IPFamilyPolicySingleStack
		spec.IPFamilyPolicy = &p
	}
	if spec.InternalTrafficPolicy == nil {
		p := corev1.ServiceInternalTrafficPolicyCluster
		spec.InternalTrafficPolicy = &p
	}
	if spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer {
		setIfEmpty(&spec.ExternalTrafficPolicy, corev1.ServiceExternalTrafficPolicyCluster)
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer {
		setIfNil(&spec.AllocateLoadBalancerNodePorts, true)
	}
}

func defaultPod(p *corev1.Pod) {
	defaultPodSpec(&p.Spec)
	// spec.priority and spec.preemptionPolicy come from the Priority
	// admission plugin (the pod's PriorityClass), not from defaulting.
	setIfEmpty(&p.Status.Phase, corev1.PodPending)
}

// defaultPodSpec applies the defaults shared by pods and pod templates.
func defaultPodSpec(s *corev1.PodSpec) {
	setIfEmpty(&s.RestartPolicy, corev1.RestartPolicyAlways)
	setIfEmpty(&s.DNSPolicy, corev1.DNSClusterFirst)
	setIfEmpty(&s.SchedulerName, defaultSchedulerName)
	setIfNil(&s.TerminationGracePeriodSeconds, defaultTerminationGracePeriod)
	setIfNil(&s.EnableServiceLinks, true)
	if s.SecurityContext == nil {
		s.SecurityContext = &corev1.PodSecurityContext{}
	}
	for i := range s.InitContainers {
		defaultContainer(&s.InitContainers[i], s.HostNetwork)
	}
	for i := range s.Containers {
		defaultContainer(&s.Containers[i], s.HostNetwork)
	}
	for i := range s.EphemeralContainers {
		c := &s.EphemeralContainers[i].EphemeralContainerCommon
		setIfEmpty(&c.TerminationMessagePath, defaultTerminationMessagePath)
		setIfEmpty(&c.TerminationMessagePolicy, corev1.TerminationMessageReadFile)
		setIfEmpty(&c.ImagePullPolicy, pullPolicyFor(c.Image))
	}
	for i := range s.Volumes {
		defaultVolume(&s.Volumes[i].VolumeSource)
	}
}

func defaultContainer(c *corev1.Container, hostNetwork bool) {
	setIfEmpty(&c.TerminationMessagePath, defaultTerminationMessagePath)
	setIfEmpty(&c.TerminationMessagePolicy, corev1.TerminationMessageReadFile)
	setIfEmpty(&c.ImagePullPolicy, pullPolicyFor(c.Image))
	for i := range c.Ports {
		p := &c.Ports[i]
		setIfEmpty(&p.Protocol, corev1.ProtocolTCP)
		if hostNetwork && p.HostPort == 0 {
			p.HostPort = p.ContainerPort
		}
	}
	for _, pr := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		defaultProbe(pr)
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil {
			setIfEmpty(&vf.FieldRef.APIVersion, "v1")
		}
	}
	// A limit without a request means "request what you limit".
	for name, q := range c.Resources.Limits {
		if _, ok := c.Resources.Requests[name]; ok {
			continue
		}
		if c.Resources.Requests == nil {
			c.Resources.Requests = corev1.ResourceList{}
		}
		c.Resources.Requests[name] = q.DeepCopy()
	}
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	setIfEmpty(&p.TimeoutSeconds, 1)
	setIfEmpty(&p.PeriodSeconds, 10)
	setIfEmpty(&p.SuccessThreshold, 1)
	setIfEmpty(&p.FailureThreshold, 3)
	if h := p.HTTPGet; h != nil {
		setIfEmpty(&h.Path, "/")
		setIfEmpty(&h.Scheme, corev1.URISchemeHTTP)
	}
}

func defaultVolume(v *corev1.VolumeSource) {
	switch {
	case v.ConfigMap != nil:
		setIfNil(&v.ConfigMap.DefaultMode, defaultVolumeMode)
	case v.Secret != nil:
		setIfNil(&v.Secret.DefaultMode, defaultVolumeMode)
	case v.DownwardAPI != nil:
		setIfNil(&v.DownwardAPI.DefaultMode, defaultVolumeMode)
		for i := range v.DownwardAPI.Items {
			if f := v.DownwardAPI.Items[i].FieldRef; f != nil {
				setIfEmpty(&f.APIVersion, "v1")
			}
		}
	case v.Projected != nil:
		setIfNil(&v.Projected.DefaultMode, defaultVolumeMode)
		for i := range v.Projected.Sources {
			if t := v.Projected.Sources[i].ServiceAccountToken; t != nil {
				setIfNil(&t.ExpirationSeconds, defaultTokenExpiration)
			}
		}
	case v.HostPath != nil:
		if v.HostPath.Type == nil {
			t := corev1.HostPathUnset
			v.HostPath.Type = &t
		}
	case *v == (corev1.VolumeSource{}):
		// A volume without a source is an emptyDir.
		v.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
}

// pullPolicyFor returns Always for an image without a tag or with the tag
// "latest" (the image can change under the same name) and IfNotPresent for
// pinned tags and digests.
func pullPolicyFor(image string) corev1.PullPolicy {
	if strings.Contains(image, "@") {
		return corev1.PullIfNotPresent
	}
	name := image
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	i := strings.LastIndex(name, ":")
	if i < 0 || name[i+1:] == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

func defaultDeployment(d *appsv1.Deployment) {
	setIfNil(&d.Spec.Replicas, 1)
	st := &d.Spec.Strategy
	setIfEmpty(&st.Type, appsv1.RollingUpdateDeploymentStrategyType)
	if st.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if st.RollingUpdate == nil {
			st.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		setIfNil(&st.RollingUpdate.MaxUnavailable, intstr.FromString("25%"))
		setIfNil(&st.RollingUpdate.MaxSurge, intstr.FromString("25%"))
	}
	setIfNil(&d.Spec.RevisionHistoryLimit, defaultRevisionHistoryLimit)
	setIfNil(&d.Spec.ProgressDeadlineSeconds, defaultProgressDeadline)
	defaultPodSpec(&d.Spec.Template.Spec)
}

func defaultStatefulSet(s *appsv1.StatefulSet) {
	setIfNil(&s.Spec.Replicas, 1)
	setIfEmpty(&s.Spec.PodManagementPolicy, appsv1.OrderedReadyPodManagement)
	us := &s.Spec.UpdateStrategy
	setIfEmpty(&us.Type, appsv1.RollingUpdateStatefulSetStrategyType)
	if us.Type == appsv1.RollingUpdateStatefulSetStrategyType {
		if us.RollingUpdate == nil {
			us.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
		setIfNil(&us.RollingUpdate.Partition, 0)
	}
	setIfNil(&s.Spec.RevisionHistoryLimit, defaultRevisionHistoryLimit)
	if s.Spec.PersistentVolumeClaimRetentionPolicy == nil {
		s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	rp := s.Spec.PersistentVolumeClaimRetentionPolicy
	setIfEmpty(&rp.WhenDeleted, appsv1.RetainPersistentVolumeClaimRetentionPolicyType)
	setIfEmpty(&rp.WhenScaled, appsv1.RetainPersistentVolumeClaimRetentionPolicyType)
	for i := range s.Spec.VolumeClaimTemplates {
		pvc := &s.Spec.VolumeClaimTemplates[i]
		if pvc.Spec.VolumeMode == nil {
			m := corev1.PersistentVolumeFilesystem
			pvc.Spec.VolumeMode = &m
		}
	}
	defaultPodSpec(&s.Spec.Template.Spec)
}

func defaultDaemonSet(d *appsv1.DaemonSet) {
	us := &d.Spec.UpdateStrategy
	setIfEmpty(&us.Type, appsv1.RollingUpdateDaemonSetStrategyType)
	if us.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if us.RollingUpdate == nil {
			us.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		setIfNil(&us.RollingUpdate.MaxUnavailable, intstr.FromInt32(1))
		setIfNil(&us.RollingUpdate.MaxSurge, intstr.FromInt32(0))
	}
	setIfNil(&d.Spec.RevisionHistoryLimit, defaultRevisionHistoryLimit)
	defaultPodSpec(&d.Spec.Template.Spec)
}

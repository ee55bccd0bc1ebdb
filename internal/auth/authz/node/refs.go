package node

import (
	corev1 "k8s.io/api/core/v1"
)

type kind uint8

const (
	secretKind kind = iota + 1
	configMapKind
	serviceAccountKind
	pvcKind
)

// vertex is a namespaced object a pod refers to.
type vertex struct {
	kind      kind
	namespace string
	name      string
}

// PodReferences is what a pod refers to beyond itself, by kind: the
// objects whose reads the Node authorizer grants to the pod's node, and
// the projections that carry cluster credentials or trust.
type PodReferences struct {
	// ServiceAccount is true when spec.serviceAccountName is set.
	ServiceAccount bool
	// Secrets, ConfigMaps and Claims name the referenced objects, each once.
	Secrets, ConfigMaps, Claims []string
	// ServiceAccountToken is true when a projected volume asks for a
	// service-account token.
	ServiceAccountToken bool
	// ClusterTrustBundles is true when a projected volume reads one.
	ClusterTrustBundles bool
}

// ReferencesOf lists what pod refers to (see PodReferences). NodeRestriction
// uses it to keep mirror pods free of references.
func ReferencesOf(pod *corev1.Pod) PodReferences {
	var out PodReferences
	for _, v := range podRefs(pod) {
		switch v.kind {
		case serviceAccountKind:
			out.ServiceAccount = true
		case secretKind:
			out.Secrets = append(out.Secrets, v.name)
		case configMapKind:
			out.ConfigMaps = append(out.ConfigMaps, v.name)
		case pvcKind:
			out.Claims = append(out.Claims, v.name)
		}
	}
	for i := range pod.Spec.Volumes {
		if pr := pod.Spec.Volumes[i].Projected; pr != nil {
			for _, src := range pr.Sources {
				out.ServiceAccountToken = out.ServiceAccountToken || src.ServiceAccountToken != nil
				out.ClusterTrustBundles = out.ClusterTrustBundles || src.ClusterTrustBundle != nil
			}
		}
	}
	return out
}

// podRefs lists the objects pod refers to: its service account, image
// pull secrets, the secrets, config maps and claims of its volumes
// (including projected and CSI volumes, the secret references of volume
// plugins, and the claims of generic ephemeral volumes), and the secrets
// and config maps its containers take environment from. Duplicates are
// removed.
func podRefs(pod *corev1.Pod) []vertex {
	ns := pod.Namespace
	seen := map[vertex]bool{}
	var out []vertex
	add := func(k kind, name string) {
		if name == "" {
			return
		}
		v := vertex{k, ns, name}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	local := func(k kind, ref *corev1.LocalObjectReference) {
		if ref != nil {
			add(k, ref.Name)
		}
	}
	spec := &pod.Spec
	add(serviceAccountKind, spec.ServiceAccountName)
	for i := range spec.ImagePullSecrets {
		add(secretKind, spec.ImagePullSecrets[i].Name)
	}
	for i := range spec.Volumes {
		vs := &spec.Volumes[i].VolumeSource
		switch {
		case vs.Secret != nil:
			add(secretKind, vs.Secret.SecretName)
		case vs.ConfigMap != nil:
			add(configMapKind, vs.ConfigMap.Name)
		case vs.Projected != nil:
			for _, src := range vs.Projected.Sources {
				if src.Secret != nil {
					add(secretKind, src.Secret.Name)
				}
				if src.ConfigMap != nil {
					add(configMapKind, src.ConfigMap.Name)
				}
			}
		case vs.PersistentVolumeClaim != nil:
			add(pvcKind, vs.PersistentVolumeClaim.ClaimName)
		case vs.Ephemeral != nil:
			// A generic ephemeral volume's claim is named <pod>-<volume>.
			add(pvcKind, pod.Name+"-"+spec.Volumes[i].Name)
		case vs.CSI != nil:
			local(secretKind, vs.CSI.NodePublishSecretRef)
		case vs.AzureFile != nil:
			add(secretKind, vs.AzureFile.SecretName)
		case vs.CephFS != nil:
			local(secretKind, vs.CephFS.SecretRef)
		case vs.Cinder != nil:
			local(secretKind, vs.Cinder.SecretRef)
		case vs.FlexVolume != nil:
			local(secretKind, vs.FlexVolume.SecretRef)
		case vs.ISCSI != nil:
			local(secretKind, vs.ISCSI.SecretRef)
		case vs.RBD != nil:
			local(secretKind, vs.RBD.SecretRef)
		case vs.ScaleIO != nil:
			local(secretKind, vs.ScaleIO.SecretRef)
		case vs.StorageOS != nil:
			local(secretKind, vs.StorageOS.SecretRef)
		}
	}
	env := func(envs []corev1.EnvVar, from []corev1.EnvFromSource) {
		for _, e := range envs {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				add(secretKind, r.Name)
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				add(configMapKind, r.Name)
			}
		}
		for _, f := range from {
			if f.SecretRef != nil {
				add(secretKind, f.SecretRef.Name)
			}
			if f.ConfigMapRef != nil {
				add(configMapKind, f.ConfigMapRef.Name)
			}
		}
	}
	for i := range spec.InitContainers {
		env(spec.InitContainers[i].Env, spec.InitContainers[i].EnvFrom)
	}
	for i := range spec.Containers {
		env(spec.Containers[i].Env, spec.Containers[i].EnvFrom)
	}
	for i := range spec.EphemeralContainers {
		env(spec.EphemeralContainers[i].Env, spec.EphemeralContainers[i].EnvFrom)
	}
	return out
}

// pvSecrets lists the secrets a PersistentVolume's source refers to. A
// reference without a namespace means the namespace of the bound claim.
func pvSecrets(pv *corev1.PersistentVolume) []nsName {
	claimNS := ""
	if pv.Spec.ClaimRef != nil {
		claimNS = pv.Spec.ClaimRef.Namespace
	}
	var out []nsName
	add := func(namespace, name string) {
		if namespace == "" {
			namespace = claimNS
		}
		if namespace == "" || name == "" {
			return
		}
		k := nsName{namespace, name}
		for _, o := range out {
			if o == k {
				return
			}
		}
		out = append(out, k)
	}
	ref := func(r *corev1.SecretReference) {
		if r != nil {
			add(r.Namespace, r.Name)
		}
	}
	s := &pv.Spec.PersistentVolumeSource
	switch {
	case s.CSI != nil:
		ref(s.CSI.ControllerPublishSecretRef)
		ref(s.CSI.NodeStageSecretRef)
		ref(s.CSI.NodePublishSecretRef)
		ref(s.CSI.ControllerExpandSecretRef)
		ref(s.CSI.NodeExpandSecretRef)
	case s.AzureFile != nil:
		ns := ""
		if s.AzureFile.SecretNamespace != nil {
			ns = *s.AzureFile.SecretNamespace
		}
		add(ns, s.AzureFile.SecretName)
	case s.CephFS != nil:
		ref(s.CephFS.SecretRef)
	case s.Cinder != nil:
		ref(s.Cinder.SecretRef)
	case s.FlexVolume != nil:
		ref(s.FlexVolume.SecretRef)
	case s.ISCSI != nil:
		ref(s.ISCSI.SecretRef)
	case s.RBD != nil:
		ref(s.RBD.SecretRef)
	case s.ScaleIO != nil:
		ref(s.ScaleIO.SecretRef)
	case s.StorageOS != nil:
		if r := s.StorageOS.SecretRef; r != nil {
			add(r.Namespace, r.Name)
		}
	}
	return out
}

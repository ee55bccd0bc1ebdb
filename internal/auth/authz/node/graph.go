package node

import (
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

type nsName struct{ namespace, name string }

type podEntry struct {
	node string
	refs []vertex
}

// graph holds what the authorizer knows about the objects nodes may
// reach. The Authorizer's lock guards it.
type graph struct {
	pods      map[nsName]podEntry        // pods bound to a node
	reach     map[string]map[vertex]int  // node → object → number of its pods referring to it
	pvcVolume map[nsName]string          // claim → bound PV (spec.volumeName)
	pvClaims  map[string]map[nsName]bool // PV → claims naming it
	pvSecrets map[string][]nsName        // PV → secrets its source refers to
	secretPVs map[nsName]map[string]bool // secret → PVs referring to it
	csrOwner  map[string]string          // CSR name → spec.username
	vaNode    map[string]string          // VolumeAttachment name → spec.nodeName
}

func newGraph() graph {
	return graph{
		pods:      map[nsName]podEntry{},
		reach:     map[string]map[vertex]int{},
		pvcVolume: map[nsName]string{},
		pvClaims:  map[string]map[nsName]bool{},
		pvSecrets: map[string][]nsName{},
		secretPVs: map[nsName]map[string]bool{},
		csrOwner:  map[string]string{},
		vaNode:    map[string]string{},
	}
}

// AddPod records pod, or replaces what was recorded for it: when it is
// bound to a node (spec.nodeName), that node may read the objects it
// refers to. An unbound pod is forgotten. nil is ignored.
func (a *Authorizer) AddPod(pod *corev1.Pod) {
	if pod == nil {
		return
	}
	k := nsName{pod.Namespace, pod.Name}
	var entry podEntry
	if pod.Spec.NodeName != "" {
		entry = podEntry{node: pod.Spec.NodeName, refs: podRefs(pod)}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.removePodLocked(k)
	if entry.node == "" {
		return
	}
	a.g.pods[k] = entry
	m := a.g.reach[entry.node]
	if m == nil {
		m = map[vertex]int{}
		a.g.reach[entry.node] = m
	}
	for _, v := range entry.refs {
		m[v]++
	}
}

// UpdatePod is AddPod: the new state of pod replaces the old.
func (a *Authorizer) UpdatePod(pod *corev1.Pod) { a.AddPod(pod) }

// DeletePod forgets the pod with pod's namespace and name. nil is ignored.
func (a *Authorizer) DeletePod(pod *corev1.Pod) {
	if pod == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.removePodLocked(nsName{pod.Namespace, pod.Name})
}

func (a *Authorizer) removePodLocked(k nsName) {
	old, ok := a.g.pods[k]
	if !ok {
		return
	}
	delete(a.g.pods, k)
	m := a.g.reach[old.node]
	for _, v := range old.refs {
		if m[v]--; m[v] <= 0 {
			delete(m, v)
		}
	}
	if len(m) == 0 {
		delete(a.g.reach, old.node)
	}
}

// AddPVC records which PersistentVolume claim is bound to
// (spec.volumeName), replacing what was recorded. nil is ignored.
func (a *Authorizer) AddPVC(pvc *corev1.PersistentVolumeClaim) {
	if pvc == nil {
		return
	}
	k := nsName{pvc.Namespace, pvc.Name}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.removePVCLocked(k)
	if pv := pvc.Spec.VolumeName; pv != "" {
		a.g.pvcVolume[k] = pv
		if a.g.pvClaims[pv] == nil {
			a.g.pvClaims[pv] = map[nsName]bool{}
		}
		a.g.pvClaims[pv][k] = true
	}
}

// DeletePVC forgets the claim. nil is ignored.
func (a *Authorizer) DeletePVC(pvc *corev1.PersistentVolumeClaim) {
	if pvc == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.removePVCLocked(nsName{pvc.Namespace, pvc.Name})
}

func (a *Authorizer) removePVCLocked(k nsName) {
	pv, ok := a.g.pvcVolume[k]
	if !ok {
		return
	}
	delete(a.g.pvcVolume, k)
	delete(a.g.pvClaims[pv], k)
	if len(a.g.pvClaims[pv]) == 0 {
		delete(a.g.pvClaims, pv)
	}
}

// AddPV records the secrets a PersistentVolume's source refers to,
// replacing what was recorded. nil is ignored.
func (a *Authorizer) AddPV(pv *corev1.PersistentVolume) {
	if pv == nil {
		return
	}
	secrets := pvSecrets(pv)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.removePVLocked(pv.Name)
	if len(secrets) == 0 {
		return
	}
	a.g.pvSecrets[pv.Name] = secrets
	for _, s := range secrets {
		if a.g.secretPVs[s] == nil {
			a.g.secretPVs[s] = map[string]bool{}
		}
		a.g.secretPVs[s][pv.Name] = true
	}
}

// DeletePV forgets the volume's secrets. nil is ignored.
func (a *Authorizer) DeletePV(pv *corev1.PersistentVolume) {
	if pv == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.removePVLocked(pv.Name)
}

func (a *Authorizer) removePVLocked(name string) {
	for _, s := range a.g.pvSecrets[name] {
		delete(a.g.secretPVs[s], name)
		if len(a.g.secretPVs[s]) == 0 {
			delete(a.g.secretPVs, s)
		}
	}
	delete(a.g.pvSecrets, name)
}

// AddCSR records who asked for a CertificateSigningRequest
// (spec.username), replacing what was recorded. nil is ignored.
func (a *Authorizer) AddCSR(csr *certificatesv1.CertificateSigningRequest) {
	if csr == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.g.csrOwner[csr.Name] = csr.Spec.Username
}

// DeleteCSR forgets the request. nil is ignored.
func (a *Authorizer) DeleteCSR(csr *certificatesv1.CertificateSigningRequest) {
	if csr == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.g.csrOwner, csr.Name)
}

// AddVolumeAttachment records the node a VolumeAttachment is for
// (spec.nodeName), replacing what was recorded. nil is ignored.
func (a *Authorizer) AddVolumeAttachment(va *storagev1.VolumeAttachment) {
	if va == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.g.vaNode[va.Name] = va.Spec.NodeName
}

// DeleteVolumeAttachment forgets the attachment. nil is ignored.
func (a *Authorizer) DeleteVolumeAttachment(va *storagev1.VolumeAttachment) {
	if va == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.g.vaNode, va.Name)
}

// The queries below are called with the read lock held.

func (g *graph) refers(node string, v vertex) bool { return g.reach[node][v] > 0 }

func (g *graph) pvReachable(node, pv string) bool {
	for claim := range g.pvClaims[pv] {
		if g.refers(node, vertex{pvcKind, claim.namespace, claim.name}) {
			return true
		}
	}
	return false
}

func (g *graph) secretReachable(node string, s nsName) bool {
	if g.refers(node, vertex{secretKind, s.namespace, s.name}) {
		return true
	}
	for pv := range g.secretPVs[s] {
		if g.pvReachable(node, pv) {
			return true
		}
	}
	return false
}

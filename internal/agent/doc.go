// Package agent is kastle's node agent, the security half of a kubelet:
//
//   - TLS bootstrap: with no usable kubeconfig (missing, unreadable, or its
//     client certificate expired) it asks for a client certificate through a
//     kubernetes.io/kube-apiserver-client-kubelet CSR made with the
//     bootstrap kubeconfig's credentials (a bootstrap token), waits for it to
//     be issued, and writes pki/kubelet-client-<time>.pem, the symlink
//     pki/kubelet-client-current.pem and kubelet.conf, as kubelet does.
//   - Rotation: the client and serving certificates are renewed at a
//     jittered 70–90 % of their lifetime through new CSRs made with the
//     current identity. Requests in flight finish on the old connections;
//     new requests use the new certificate.
//   - Heartbeats: it registers its Node, reports its status and renews its
//     Lease in kube-node-lease.
//   - An HTTPS API (/healthz, /pods, /configz, /metrics) served with a
//     kubernetes.io/kubelet-serving certificate. Nothing listens until that
//     certificate is issued (a person, or a policy, approves it): the agent
//     never serves with a self-signed certificate. Callers are authenticated
//     by a client certificate of the cluster CA or a bearer token
//     (TokenReview) and authorized by a SubjectAccessReview on nodes/<sub>,
//     the way kubelet maps paths to subresources.
package agent

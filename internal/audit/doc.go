// Package audit records what the API server was asked to do and what it
// answered, as kube-apiserver's audit log does (audit.k8s.io/v1).
//
// A Policy (loaded with ParsePolicy or LoadPolicy, from the file given by
// --audit-policy-file) decides per request how much is recorded: None,
// Metadata, Request or RequestResponse; the first matching rule wins and a
// request no rule matches is not audited. An Auditor evaluates the policy
// and writes Events as JSON lines; WithAudit is the HTTP filter that does
// so for every request, and FileWriter is the size-rotated log file behind
// --audit-log-path.
//
// Whatever the policy says, the bodies of sensitive resources (core
// Secrets, serviceaccounts/token, tokenreviews) are never recorded: such
// requests are audited at Metadata at most.
package audit

// Package hpaconv converts HorizontalPodAutoscalers between autoscaling/v2
// (the storage version) and autoscaling/v1, as kube-apiserver does: v1 can
// only say "target this CPU utilization", so every other v2 field (other
// metrics, current metrics, conditions, behavior) travels through v1 in
// the autoscaling.alpha.kubernetes.io/* annotations and comes back intact.
package hpaconv

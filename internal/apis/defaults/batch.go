package defaults

import (
	"math"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Job and CronJob defaults, named after the upstream constants.
const (
	defaultBackoffLimit               = int32(6)
	defaultSuccessfulJobsHistoryLimit = int32(3)
	defaultFailedJobsHistoryLimit     = int32(1)
)

// Labels a job puts on its pods and selects them by.
const (
	JobControllerUIDLabel       = "batch.kubernetes.io/controller-uid"
	JobNameLabel                = "batch.kubernetes.io/job-name"
	LegacyJobControllerUIDLabel = "controller-uid"
	LegacyJobNameLabel          = "job-name"
)

func defaultBatch(obj runtime.Object) bool {
	switch o := obj.(type) {
	case *batchv1.Job:
		if o != nil {
			defaultJob(o)
		}
	case *batchv1.CronJob:
		if o != nil {
			defaultCronJob(o)
		}
	default:
		return false
	}
	return true
}

func defaultJob(j *batchv1.Job) {
	// The job carries its pods' labels unless it has its own.
	if len(j.Labels) == 0 && len(j.Spec.Template.Labels) > 0 {
		j.Labels = copyMap(j.Spec.Template.Labels)
	}
	s := &j.Spec
	// Neither set: one pod, run once. Parallelism alone keeps completions
	// unset (a work queue).
	if s.Completions == nil && s.Parallelism == nil {
		setIfNil(&s.Completions, 1)
	}
	setIfNil(&s.Parallelism, 1)
	if s.BackoffLimit == nil {
		if s.BackoffLimitPerIndex != nil {
			setIfNil(&s.BackoffLimit, int32(math.MaxInt32))
		} else {
			setIfNil(&s.BackoffLimit, defaultBackoffLimit)
		}
	}
	if s.CompletionMode == nil {
		m := batchv1.NonIndexedCompletion
		s.CompletionMode = &m
	}
	setIfNil(&s.Suspend, false)
	if pfp := s.PodFailurePolicy; pfp != nil {
		for i := range pfp.Rules {
			for j := range pfp.Rules[i].OnPodConditions {
				setIfEmpty(&pfp.Rules[i].OnPodConditions[j].Status, "True")
			}
		}
	}
	if s.PodReplacementPolicy == nil {
		p := batchv1.TerminatingOrFailed
		if s.PodFailurePolicy != nil {
			p = batchv1.Failed
		}
		s.PodReplacementPolicy = &p
	}
	defaultPodSpec(&s.Template.Spec)
}

// GenerateJobSelector gives a new job whose selector is not manual the
// selector and pod labels upstream generates from its uid: both the
// batch.kubernetes.io/ labels and the legacy unprefixed ones. It runs on
// create only, after the uid is set.
func GenerateJobSelector(j *batchv1.Job) {
	if j.Spec.ManualSelector != nil && *j.Spec.ManualSelector {
		return
	}
	uid := string(j.UID)
	if j.Spec.Template.Labels == nil {
		j.Spec.Template.Labels = map[string]string{}
	}
	l := j.Spec.Template.Labels
	l[LegacyJobControllerUIDLabel] = uid
	l[LegacyJobNameLabel] = j.Name
	l[JobControllerUIDLabel] = uid
	l[JobNameLabel] = j.Name
	if j.Spec.Selector == nil {
		j.Spec.Selector = &metav1.LabelSelector{}
	}
	if j.Spec.Selector.MatchLabels == nil {
		j.Spec.Selector.MatchLabels = map[string]string{}
	}
	j.Spec.Selector.MatchLabels[JobControllerUIDLabel] = uid
}

func defaultCronJob(c *batchv1.CronJob) {
	setIfEmpty(&c.Spec.ConcurrencyPolicy, batchv1.AllowConcurrent)
	setIfNil(&c.Spec.Suspend, false)
	setIfNil(&c.Spec.SuccessfulJobsHistoryLimit, defaultSuccessfulJobsHistoryLimit)
	setIfNil(&c.Spec.FailedJobsHistoryLimit, defaultFailedJobsHistoryLimit)
	defaultPodSpec(&c.Spec.JobTemplate.Spec.Template.Spec)
}

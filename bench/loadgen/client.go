package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Content types a run can use.
const (
	contentTypeJSON     = "application/json"
	contentTypeProtobuf = "application/vnd.kubernetes.protobuf"
)

// managedByLabel marks every namespace and object loadgen creates, so that it
// only ever deletes what it made.
const (
	managedByLabel = "app.kubernetes.io/managed-by"
	managedByValue = "kastle-loadgen"
)

// scenarioLabel tells the objects of one scenario apart (the watch scenario
// selects on it).
const scenarioLabel = "loadgen.kastle.dev/scenario"

// cleanupTimeout bounds the deletion of everything loadgen created, run even
// after an interrupt.
const cleanupTimeout = 60 * time.Second

// loadRESTConfig reads the kubeconfig and returns a config for load: no
// client-side rate limit, and an explicit content type. The content type is
// always set because client-go otherwise picks protobuf for built-in types by
// itself, and a JSON run must really be JSON.
func loadRESTConfig(path string, protobuf, disableCompression bool) (*rest.Config, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	rc.QPS = -1 // negative disables client-go's token bucket
	rc.Burst = 1 << 20
	rc.UserAgent = "kastle-loadgen"
	rc.DisableCompression = disableCompression
	if protobuf {
		rc.ContentType = contentTypeProtobuf
		rc.AcceptContentTypes = contentTypeProtobuf + "," + contentTypeJSON
	} else {
		rc.ContentType = contentTypeJSON
		rc.AcceptContentTypes = contentTypeJSON
	}
	return rc, nil
}

// newClient builds the one clientset all workers share, so that they share
// its transport (and, over HTTP/2, its connection) as a real controller would.
func newClient(rc *rest.Config) (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(rc)
}

// ownedMeta returns object metadata carrying loadgen's labels; scenario may
// be empty (namespaces belong to no single scenario).
func ownedMeta(name, scenario string) metav1.ObjectMeta {
	labels := map[string]string{managedByLabel: managedByValue}
	if scenario != "" {
		labels[scenarioLabel] = scenario
	}
	return metav1.ObjectMeta{Name: name, Labels: labels}
}

// ensureNamespace creates an empty namespace owned by loadgen. A leftover
// loadgen namespace (from an interrupted run) is deleted and made anew; any
// other existing namespace of that name is an error, never touched.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface, name string, log io.Writer) error {
	ns := &corev1.Namespace{ObjectMeta: ownedMeta(name, "")}
	for attempt := 0; attempt < 2; attempt++ {
		_, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
		old, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // deleted meanwhile: create it again
		}
		if err != nil {
			return fmt.Errorf("get namespace %s: %w", name, err)
		}
		if old.Labels[managedByLabel] != managedByValue {
			return fmt.Errorf("namespace %s exists and is not labelled %s=%s; choose another --namespace", name, managedByLabel, managedByValue)
		}
		fmt.Fprintf(log, "namespace %s left over from an earlier run: deleting it first\n", name)
		if err := deleteNamespace(ctx, cs, name); err != nil {
			return err
		}
	}
	return fmt.Errorf("namespace %s: still exists after deleting it", name)
}

// deleteNamespace deletes loadgen's ConfigMaps in the namespace and then the
// namespace, and waits (bounded by ctx and cleanupTimeout) until it is gone.
// Deleting the ConfigMaps first keeps the namespace's finalization short.
func deleteNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	sel := metav1.ListOptions{LabelSelector: managedByLabel + "=" + managedByValue}
	err := cs.CoreV1().ConfigMaps(name).DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete ConfigMaps in %s: %w", name, err)
	}
	err = cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	err = wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, nil // keep polling through transient errors until the deadline
	})
	if err != nil {
		return fmt.Errorf("namespace %s not gone after %v: %w", name, cleanupTimeout, err)
	}
	return nil
}

// configMap returns a small ConfigMap owned by loadgen.
func configMap(name, scenario string, data map[string]string) *corev1.ConfigMap {
	if data == nil {
		data = map[string]string{}
	}
	data["payload"] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	return &corev1.ConfigMap{ObjectMeta: ownedMeta(name, scenario), Data: data}
}

// createMany creates the named ConfigMaps with a few parallel workers, for
// scenario set-up; it stops at the first error.
func createMany(ctx context.Context, cs kubernetes.Interface, ns, scenario string, names []string) error {
	const workers = 16
	next := make(chan string)
	errc := make(chan error, workers)
	for range workers {
		go func() {
			var first error
			for name := range next {
				if first != nil {
					continue // drain
				}
				_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, configMap(name, scenario, nil), metav1.CreateOptions{})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					first = fmt.Errorf("create ConfigMap %s/%s: %w", ns, name, err)
				}
			}
			errc <- first
		}()
	}
	for _, n := range names {
		if ctx.Err() != nil {
			break
		}
		next <- n
	}
	close(next)
	var errs []error
	for range workers {
		errs = append(errs, <-errc)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

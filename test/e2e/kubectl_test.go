package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestCreateAndGet creates objects from YAML on stdin and imperatively,
// then reads them back in every output format kubectl offers.
func TestCreateAndGet(t *testing.T) {
	t.Parallel()
	ns := namespace(t)

	out := mustKubectlIn(t, `apiVersion: v1
kind: ConfigMap
metadata:
  name: from-yaml
  labels: {tier: e2e}
data:
  a: alpha
  b: beta
`, "create", "-n", ns, "-f", "-")
	mustContain(t, out, "configmap/from-yaml created")
	mustContain(t, mustKubectl(t, "create", "cm", "imperative", "-n", ns, "--from-literal=a=one"), "configmap/imperative created")
	mustContain(t, mustKubectl(t, "create", "secret", "generic", "sec", "-n", ns, "--from-literal=password=s3cret"), "secret/sec created")
	extraNS := ns + "-x"
	mustContain(t, mustKubectl(t, "create", "ns", extraNS), "namespace/"+extraNS+" created")
	t.Cleanup(func() { kubectl(t, "delete", "ns", extraNS, "--wait=false") })

	t.Run("json", func(t *testing.T) {
		var cm struct {
			APIVersion, Kind string
			Metadata         struct {
				Name, Namespace, ResourceVersion, UID, CreationTimestamp string
				Labels                                                   map[string]string
			}
			Data map[string]string
		}
		if err := json.Unmarshal([]byte(mustKubectl(t, "get", "cm", "from-yaml", "-n", ns, "-o", "json")), &cm); err != nil {
			t.Fatal(err)
		}
		if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" || cm.Metadata.Name != "from-yaml" || cm.Metadata.Namespace != ns ||
			cm.Data["a"] != "alpha" || cm.Data["b"] != "beta" || cm.Metadata.Labels["tier"] != "e2e" ||
			cm.Metadata.UID == "" || cm.Metadata.ResourceVersion == "" || cm.Metadata.CreationTimestamp == "" {
			t.Errorf("unexpected object: %+v", cm)
		}
	})
	t.Run("yaml", func(t *testing.T) {
		var obj map[string]any
		out := mustKubectl(t, "get", "secret", "sec", "-n", ns, "-o", "yaml")
		if err := yaml.Unmarshal([]byte(out), &obj); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		data, _ := obj["data"].(map[string]any)
		if obj["kind"] != "Secret" || obj["type"] != "Opaque" || data["password"] != "czNjcmV0" {
			t.Errorf("unexpected secret:\n%s", out)
		}
	})
	t.Run("jsonpath", func(t *testing.T) {
		out := mustKubectl(t, "get", "cm", "-n", ns, "--field-selector=metadata.name!="+rootCAConfigMap, "-o", `jsonpath={range .items[*]}{.metadata.name}={.data.a}{"\n"}{end}`)
		if out != "from-yaml=alpha\nimperative=one\n" {
			t.Errorf("jsonpath output = %q", out)
		}
	})
	t.Run("custom-columns", func(t *testing.T) {
		out := mustKubectl(t, "get", "cm", "-n", ns, "--field-selector=metadata.name!="+rootCAConfigMap, "-o", "custom-columns=NAME:.metadata.name,DATA:.data.a")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		got := make([]string, len(lines))
		for i, l := range lines {
			got[i] = strings.Join(fields(l), " ")
		}
		if want := []string{"NAME DATA", "from-yaml alpha", "imperative one"}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("custom-columns = %q, want %q", got, want)
		}
	})
	t.Run("table", func(t *testing.T) {
		for _, tc := range []struct {
			args   []string
			header string
			row    *regexp.Regexp
		}{
			{[]string{"get", "cm", "-n", ns}, "NAME DATA AGE", regexp.MustCompile(`(?m)^from-yaml\s+2\s+\d+s$`)},
			{[]string{"get", "cm", "-n", ns, "-o", "wide"}, "NAME DATA AGE", regexp.MustCompile(`(?m)^imperative\s+1\s+\d+s$`)},
			{[]string{"get", "secrets", "-n", ns}, "NAME TYPE DATA AGE", regexp.MustCompile(`(?m)^sec\s+Opaque\s+1\s+\d+s$`)},
			{[]string{"get", "ns", extraNS}, "NAME STATUS AGE", regexp.MustCompile(`(?m)^` + extraNS + `\s+Active\s+\d+s$`)},
			{[]string{"get", "cm", "-n", ns, "--show-labels"}, "NAME DATA AGE LABELS", regexp.MustCompile(`(?m)^from-yaml\s+2\s+\d+s\s+tier=e2e$`)},
		} {
			out := mustKubectl(t, tc.args...)
			if h := strings.Join(fields(firstLine(out)), " "); h != tc.header {
				t.Errorf("kubectl %s: header %q, want %q", strings.Join(tc.args, " "), h, tc.header)
			}
			if !tc.row.MatchString(out) {
				t.Errorf("kubectl %s: no row matching %s:\n%s", strings.Join(tc.args, " "), tc.row, out)
			}
		}
	})
	t.Run("describe", func(t *testing.T) {
		out := mustKubectl(t, "describe", "cm", "from-yaml", "-n", ns)
		for _, re := range []string{`(?m)^Name:\s+from-yaml$`, `(?m)^Namespace:\s+` + ns + `$`, `(?m)^Labels:\s+tier=e2e$`,
			`(?m)^Data$`, `(?m)^a:$`, `(?m)^alpha$`, `(?m)^beta$`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("describe lacks %s:\n%s", re, out)
			}
		}
		out = mustKubectl(t, "describe", "secret", "sec", "-n", ns)
		mustContain(t, out, "Type:  Opaque", "password:  6 bytes")
		if strings.Contains(out, "s3cret") {
			t.Errorf("describe secret shows the value:\n%s", out)
		}
	})
}

// TestEdit runs kubectl edit with a scripted editor.
func TestEdit(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	mustKubectl(t, "create", "cm", "ed", "-n", ns, "--from-literal=greeting=old-value")
	editor := writeFile(t, "editor.sh", "#!/bin/sh\nsed -i 's/old-value/new-value/' \"$1\"\n", 0o755)
	out := env.shared.mustKubectlWith(t, runOpts{env: []string{"KUBE_EDITOR=" + editor, "EDITOR=" + editor}}, "edit", "cm", "ed", "-n", ns)
	mustContain(t, out, "configmap/ed edited")
	if got := mustKubectl(t, "get", "cm", "ed", "-n", ns, "-o", "jsonpath={.data.greeting}"); got != "new-value" {
		t.Errorf("after edit greeting = %q", got)
	}
}

// TestLabelAnnotatePatch covers label, annotate and the three patch types.
func TestLabelAnnotatePatch(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	mustKubectl(t, "create", "cm", "p", "-n", ns, "--from-literal=a=1", "--from-literal=b=2")

	mustContain(t, mustKubectl(t, "label", "cm", "p", "-n", ns, "app=web", "tier=front"), "configmap/p labeled")
	mustContain(t, mustKubectl(t, "label", "cm", "p", "-n", ns, "tier-"), "configmap/p unlabeled")
	mustContain(t, mustKubectl(t, "annotate", "cm", "p", "-n", ns, "note=hello world"), "configmap/p annotated")
	r := kubectl(t, "label", "cm", "p", "-n", ns, "app=db")
	if r.code == 0 || !strings.Contains(r.stderr, "already has a value (web)") {
		t.Errorf("relabel without --overwrite: %s", r)
	}
	mustKubectl(t, "label", "cm", "p", "-n", ns, "app=db", "--overwrite")

	mustContain(t, mustKubectl(t, "patch", "cm", "p", "-n", ns, "-p", `{"data":{"c":"3"}}`), "configmap/p patched")
	mustContain(t, mustKubectl(t, "patch", "cm", "p", "-n", ns, "--type=merge", "-p", `{"data":{"a":null,"d":"4"}}`), "configmap/p patched")
	mustContain(t, mustKubectl(t, "patch", "cm", "p", "-n", ns, "--type=json", "-p",
		`[{"op":"replace","path":"/data/b","value":"two"},{"op":"add","path":"/metadata/labels/extra","value":"yes"}]`), "configmap/p patched")
	r = kubectl(t, "patch", "cm", "p", "-n", ns, "--type=json", "-p", `[{"op":"test","path":"/data/b","value":"wrong"}]`)
	if r.code == 0 {
		t.Errorf("failing json-patch test op succeeded: %s", r)
	}
	// A patch that changes nothing is reported as such.
	mustContain(t, mustKubectl(t, "patch", "cm", "p", "-n", ns, "-p", `{"data":{"c":"3"}}`), "configmap/p patched (no change)")

	var cm struct {
		Metadata struct{ Labels, Annotations map[string]string }
		Data     map[string]string
	}
	if err := json.Unmarshal([]byte(mustKubectl(t, "get", "cm", "p", "-n", ns, "-o", "json")), &cm); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"b": "two", "c": "3", "d": "4"}; fmt.Sprint(cm.Data) != fmt.Sprint(want) {
		t.Errorf("data = %v, want %v", cm.Data, want)
	}
	if want := map[string]string{"app": "db", "extra": "yes"}; fmt.Sprint(cm.Metadata.Labels) != fmt.Sprint(want) {
		t.Errorf("labels = %v, want %v", cm.Metadata.Labels, want)
	}
	if cm.Metadata.Annotations["note"] != "hello world" {
		t.Errorf("annotations = %v", cm.Metadata.Annotations)
	}
}

// TestApply covers client-side apply, server-side apply, managed fields and
// apply conflicts between field managers.
func TestApply(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	manifest := func(name, a string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  a: %q\n  keep: \"k\"\n", name, ns, a)
	}
	apply := func(stdin string, args ...string) result {
		return kubectlIn(t, stdin, append([]string{"apply", "-f", "-"}, args...)...)
	}

	t.Run("client-side", func(t *testing.T) {
		for _, step := range []struct{ a, want string }{
			{"1", "configmap/csa created"},
			{"1", "configmap/csa unchanged"},
			{"2", "configmap/csa configured"},
		} {
			r := apply(manifest("csa", step.a))
			if r.code != 0 || !strings.Contains(r.stdout, step.want) {
				t.Fatalf("apply a=%s: want %q, got %s", step.a, step.want, r)
			}
		}
		out := mustKubectl(t, "get", "cm", "csa", "-n", ns, "-o", "yaml")
		mustContain(t, out, "kubectl.kubernetes.io/last-applied-configuration", `a: "2"`)
	})

	t.Run("server-side", func(t *testing.T) {
		r := apply(manifest("ssa", "1"), "--server-side")
		if r.code != 0 || !strings.Contains(r.stdout, "configmap/ssa serverside-applied") {
			t.Fatalf("server-side apply: %s", r)
		}
		var obj struct {
			Metadata struct {
				ManagedFields []struct {
					Manager, Operation, APIVersion, FieldsType string
					FieldsV1                                   map[string]any
				}
			}
		}
		out := mustKubectl(t, "get", "cm", "ssa", "-n", ns, "-o", "yaml", "--show-managed-fields")
		if err := yaml.Unmarshal([]byte(out), &obj); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range obj.Metadata.ManagedFields {
			if mf.Manager == "kubectl" && mf.Operation == "Apply" {
				found = true
				if mf.APIVersion != "v1" || mf.FieldsType != "FieldsV1" || !strings.Contains(fmt.Sprint(mf.FieldsV1), "f:a") {
					t.Errorf("managed fields entry: %+v", mf)
				}
			}
		}
		if !found {
			t.Errorf("no managedFields entry for manager kubectl, operation Apply:\n%s", out)
		}
		if out := mustKubectl(t, "get", "cm", "ssa", "-n", ns, "-o", "yaml"); strings.Contains(out, "managedFields") {
			t.Errorf("managedFields shown without --show-managed-fields:\n%s", out)
		}

		// Another manager setting the same field to another value conflicts.
		r = apply(manifest("ssa", "other"), "--server-side", "--field-manager=intruder")
		if r.code == 0 || !strings.Contains(strings.ToLower(r.stderr), "conflict") || !strings.Contains(r.stderr, `"kubectl"`) {
			t.Fatalf("conflicting server-side apply: want a conflict with manager kubectl, got %s", r)
		}
		if got := mustKubectl(t, "get", "cm", "ssa", "-n", ns, "-o", "jsonpath={.data.a}"); got != "1" {
			t.Errorf("after the rejected apply a = %q", got)
		}
		r = apply(manifest("ssa", "other"), "--server-side", "--field-manager=intruder", "--force-conflicts")
		if r.code != 0 || !strings.Contains(r.stdout, "serverside-applied") {
			t.Fatalf("apply --force-conflicts: %s", r)
		}
		if got := mustKubectl(t, "get", "cm", "ssa", "-n", ns, "-o", "jsonpath={.data.a}"); got != "other" {
			t.Errorf("after --force-conflicts a = %q", got)
		}
		out = mustKubectl(t, "get", "cm", "ssa", "-n", ns, "-o", "json", "--show-managed-fields")
		mustContain(t, out, `"manager": "intruder"`)
	})
}

// TestReplaceStale replaces with an outdated resourceVersion.
func TestReplaceStale(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	mustKubectl(t, "create", "cm", "r", "-n", ns, "--from-literal=a=1")
	stale := mustKubectl(t, "get", "cm", "r", "-n", ns, "-o", "yaml")
	mustKubectl(t, "patch", "cm", "r", "-n", ns, "--type=merge", "-p", `{"data":{"a":"2"}}`)
	r := kubectlIn(t, strings.Replace(stale, `a: "1"`, `a: "3"`, 1), "replace", "-f", "-")
	if r.code == 0 || !strings.Contains(r.stderr, "the object has been modified") || !strings.Contains(r.stderr, "Conflict") {
		t.Errorf("stale replace: want a Conflict saying the object has been modified, got %s", r)
	}
	// Without a resourceVersion replace is unconditional.
	fresh := strings.Replace(strings.Replace(stale, `a: "1"`, `a: "3"`, 1), "resourceVersion:", "x-removed:", 1)
	fresh = regexp.MustCompile(`(?m)^\s+x-removed:.*\n`).ReplaceAllString(fresh, "")
	mustContain(t, mustKubectlIn(t, fresh, "replace", "-f", "-"), "configmap/r replaced")
	if got := mustKubectl(t, "get", "cm", "r", "-n", ns, "-o", "jsonpath={.data.a}"); got != "3" {
		t.Errorf("after replace a = %q", got)
	}
}

// TestDeleteAndWait deletes objects and waits for a deletion done by
// someone else.
func TestDeleteAndWait(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	mustKubectl(t, "create", "cm", "gone", "-n", ns)
	mustContain(t, mustKubectl(t, "delete", "cm", "gone", "-n", ns), `configmap "gone" deleted`)
	r := kubectl(t, "get", "cm", "gone", "-n", ns)
	if r.code == 0 || !strings.Contains(r.stderr, `configmaps "gone" not found`) {
		t.Errorf("get after delete: %s", r)
	}
	r = kubectl(t, "delete", "cm", "gone", "-n", ns)
	if r.code == 0 || !strings.Contains(r.stderr, "NotFound") {
		t.Errorf("second delete: %s", r)
	}

	mustKubectl(t, "create", "cm", "x", "-n", ns)
	waited := make(chan result, 1)
	go func() { waited <- kubectl(t, "wait", "--for=delete", "cm/x", "-n", ns, "--timeout=30s") }()
	time.Sleep(2 * time.Second) // let kubectl wait start watching before the delete
	deleted := make(chan result, 1)
	go func() { deleted <- kubectl(t, "delete", "cm", "x", "-n", ns, "--wait=false") }()
	if r := <-deleted; r.code != 0 {
		t.Errorf("delete: %s", r)
	}
	if r := <-waited; r.code != 0 || !strings.Contains(r.stdout, "configmap/x condition met") {
		t.Errorf("wait --for=delete: %s", r)
	}
}

// TestWatch runs kubectl get -w and checks it reports an add, a change and
// a delete made while it watches.
func TestWatch(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	mustKubectl(t, "create", "cm", "sentinel", "-n", ns)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := env.shared.kubectlStream(t, ctx, "get", "cm", "-n", ns, "-w", "--output-watch-events")
	event := func(typ, name string) func(string) bool {
		return func(line string) bool {
			f := fields(line)
			return len(f) >= 2 && f[0] == typ && f[1] == name
		}
	}
	// The sentinel arrives from the initial list: from here on the watch is
	// open at the list's resourceVersion and sees every later change.
	w.await(t, 30*time.Second, "ADDED sentinel", event("ADDED", "sentinel"))
	mustKubectl(t, "create", "cm", "w", "-n", ns, "--from-literal=k=v")
	line := w.await(t, 30*time.Second, "ADDED w", event("ADDED", "w"))
	if f := fields(line); len(f) != 4 || f[2] != "1" {
		t.Errorf("ADDED line %q: want EVENT NAME DATA AGE with DATA 1", line)
	}
	mustKubectl(t, "patch", "cm", "w", "-n", ns, "--type=merge", "-p", `{"data":{"k2":"v2"}}`)
	line = w.await(t, 30*time.Second, "MODIFIED w", event("MODIFIED", "w"))
	if f := fields(line); len(f) != 4 || f[2] != "2" {
		t.Errorf("MODIFIED line %q: want DATA 2", line)
	}
	mustKubectl(t, "delete", "cm", "w", "-n", ns)
	w.await(t, 30*time.Second, "DELETED w", event("DELETED", "w"))
}

// TestSelectors filters lists by label and field selectors.
func TestSelectors(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	mustKubectl(t, "create", "cm", "a1", "-n", ns)
	mustKubectl(t, "create", "cm", "a2", "-n", ns)
	mustKubectl(t, "create", "cm", "b1", "-n", ns)
	mustKubectl(t, "label", "cm", "a1", "a2", "-n", ns, "app=a")
	mustKubectl(t, "label", "cm", "a1", "-n", ns, "env=prod")
	mustKubectl(t, "label", "cm", "b1", "-n", ns, "app=b", "env=dev")
	mustKubectl(t, "create", "secret", "generic", "opaque1", "-n", ns, "--from-literal=k=v")
	mustKubectl(t, "create", "secret", "docker-registry", "pull", "-n", ns,
		"--docker-server=registry.example", "--docker-username=u", "--docker-password=p")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "cm", "-l", "app=a"}, "configmap/a1 configmap/a2"},
		{[]string{"get", "cm", "-l", "app=a,env=prod"}, "configmap/a1"},
		{[]string{"get", "cm", "-l", "app!=a,app"}, "configmap/b1"},
		{[]string{"get", "cm", "-l", "env in (dev,prod)"}, "configmap/a1 configmap/b1"},
		{[]string{"get", "cm", "-l", "!env,app"}, "configmap/a2"},
		{[]string{"get", "cm", "--field-selector", "metadata.name=a2"}, "configmap/a2"},
		{[]string{"get", "cm", "--field-selector", "metadata.name!=a2", "-l", "app"}, "configmap/a1 configmap/b1"},
		{[]string{"get", "secrets", "--field-selector", "type=Opaque"}, "secret/opaque1"},
		{[]string{"get", "secrets", "--field-selector", "type=kubernetes.io/dockerconfigjson"}, "secret/pull"},
	} {
		args := append(tc.args, "-n", ns, "-o", "name")
		got := strings.Join(strings.Fields(mustKubectl(t, args...)), " ")
		if got != tc.want {
			t.Errorf("kubectl %s = %q, want %q", strings.Join(args, " "), got, tc.want)
		}
	}
	r := kubectl(t, "get", "cm", "-n", ns, "--field-selector", "data.a=1")
	if r.code == 0 || !strings.Contains(r.stderr, "field label not supported") {
		t.Errorf("unsupported field selector: %s", r)
	}
}

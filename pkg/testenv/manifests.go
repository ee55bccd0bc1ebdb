package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// manifestExts are the file names read from directories, as envtest.
var manifestExts = []string{".json", ".yaml", ".yml"}

// readManifests decodes every document of the files at paths (files, or
// directories whose manifest files are read, not recursively) and passes
// those of apiVersion/kind to add. A missing path is an error when
// errorIfMissing, else skipped.
func readManifests(paths []string, errorIfMissing bool, apiVersion, kind string, add func(u *unstructured.Unstructured) error) error {
	for _, p := range paths {
		files, err := manifestFiles(p)
		if errors.Is(err, fs.ErrNotExist) && !errorIfMissing {
			continue
		}
		if err != nil {
			return fmt.Errorf("testenv: %w", err)
		}
		for _, f := range files {
			if err := readManifestFile(f, apiVersion, kind, add); err != nil {
				return fmt.Errorf("testenv: %s: %w", f, err)
			}
		}
	}
	return nil
}

func manifestFiles(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range entries {
		if !de.IsDir() && slices.Contains(manifestExts, strings.ToLower(filepath.Ext(de.Name()))) {
			out = append(out, filepath.Join(p, de.Name()))
		}
	}
	return out, nil
}

func readManifestFile(file, apiVersion, kind string, add func(u *unstructured.Unstructured) error) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var obj map[string]interface{}
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if obj == nil { // an empty document between separators
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.GetAPIVersion() != apiVersion || u.GetKind() != kind {
			continue
		}
		if err := add(u); err != nil {
			return err
		}
	}
}

// fromUnstructured converts u into a typed object.
func fromUnstructured[T any](u *unstructured.Unstructured) (*T, error) {
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		return nil, fmt.Errorf("%s %q: %w", u.GetKind(), u.GetName(), err)
	}
	return out, nil
}

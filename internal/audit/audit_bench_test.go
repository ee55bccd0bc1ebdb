package audit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkWithAudit measures the filter's cost per request over a
// handler that echoes a small ConfigMap, at each level, to io.Discard and
// to a rotating file.
func BenchmarkWithAudit(b *testing.B) {
	cm := `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c","namespace":"x"},"data":{"k":"v"}}`
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest("PUT", "/api/v1/namespaces/x/configmaps/c", strings.NewReader(cm))
			r.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(nopWriter{}, r)
		}
	}
	b.Run("baseline", func(b *testing.B) { run(b, withContext(echo(200), alice)) })
	for _, level := range []Level{LevelNone, LevelMetadata, LevelRequest, LevelRequestResponse} {
		b.Run(string(level)+"/discard", func(b *testing.B) {
			run(b, withContext(WithAudit(echo(200), newTestAuditor(b, policyAll(level), io.Discard)), alice))
		})
	}
	b.Run("Metadata/file", func(b *testing.B) {
		w, err := OpenFile(FileConfig{Path: filepath.Join(b.TempDir(), "audit.log"), MaxSize: 10 << 20, MaxBackups: 1, Now: time.Now})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		run(b, withContext(WithAudit(echo(200), newTestAuditor(b, policyAll(LevelMetadata), w)), alice))
	})
}

// BenchmarkEvaluate measures policy evaluation with the test policy
// (eleven rules; the request matches the last).
func BenchmarkEvaluate(b *testing.B) {
	a := newTestAuditor(b, testPolicy, io.Discard)
	attrs := Attributes{User: alice, Info: res("get", "", "configmaps", "", "x", "c")}
	b.ReportAllocs()
	for b.Loop() {
		a.Evaluate(attrs)
	}
}

package apiserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
)

// metrics are the server's Prometheus metrics, registered on its own
// registry (no global state).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inflight prometheus.Gauge
	watchers prometheus.Gauge
	etcd     *prometheus.HistogramVec
	// certExpiry is each control plane certificate's NotAfter.
	certExpiry *prometheus.GaugeVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total", Help: "Requests by verb, group, version, resource, subresource and HTTP code.",
		}, []string{"verb", "group", "version", "resource", "subresource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "apiserver_request_duration_seconds", Help: "Request latency by verb and resource.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"verb", "group", "version", "resource", "subresource"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "apiserver_current_inflight_requests", Help: "Requests being served."}),
		watchers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "apiserver_registered_watchers", Help: "Open watch streams."}),
		certExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kastle_certificate_expiration_timestamp_seconds", Help: "When each control plane certificate expires (Unix time).",
		}, []string{"certificate"}),
		etcd: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "etcd_request_duration_seconds", Help: "etcd request latency by operation and resource.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5},
		}, []string{"operation", "type"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.inflight, m.watchers, m.etcd, m.certExpiry,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// Observe implements filters.Observer.
func (m *metrics) Observe(r *http.Request, info *request.Info, code int, elapsed time.Duration) {
	verb, group, version, resource, sub := "", "", "", "", ""
	if info != nil {
		verb = info.Verb
		if info.IsResourceRequest {
			group, version, resource, sub = info.APIGroup, info.APIVersion, info.Resource, info.Subresource
		}
	}
	if verb == "watch" {
		// A watch's duration is its lifetime, not a latency.
		m.requests.WithLabelValues(verb, group, version, resource, sub, strconv.Itoa(code)).Inc()
		return
	}
	m.requests.WithLabelValues(verb, group, version, resource, sub, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(verb, group, version, resource, sub).Observe(elapsed.Seconds())
}

// InFlight implements filters.Observer.
func (m *metrics) InFlight(delta int) { m.inflight.Add(float64(delta)) }

// WatchStarted implements endpoints.WatchCounter.
func (m *metrics) WatchStarted() { m.watchers.Inc() }

// WatchEnded implements endpoints.WatchCounter.
func (m *metrics) WatchEnded() { m.watchers.Dec() }

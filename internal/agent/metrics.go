package agent

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the agent's Prometheus metrics, in a registry of its own (no
// global state: several agents can share a process).
type metrics struct {
	reg        *prometheus.Registry
	expiry     *prometheus.GaugeVec
	rotations  *prometheus.CounterVec
	heartbeats *prometheus.CounterVec
	requests   *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		expiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kastle_agent_certificate_expiration_timestamp_seconds",
			Help: "When the agent's current certificate expires (Unix time), by kind (client, serving).",
		}, []string{"kind"}),
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kastle_agent_certificate_rotations_total",
			Help: "Certificates obtained, by kind (client, serving) and result (success, error).",
		}, []string{"kind", "result"}),
		heartbeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kastle_agent_heartbeats_total",
			Help: "Node status and Lease writes, by what (status, lease) and result (success, error).",
		}, []string{"what", "result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kastle_agent_http_requests_total",
			Help: "Authorized API requests, by subresource and status code.",
		}, []string{"subresource", "code"}),
	}
	m.reg.MustRegister(m.expiry, m.rotations, m.heartbeats, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "success"
}

package daemon

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"enrollsftp"
	"enrollsftp/pipeline"
)

// metrics are what /metrics exports, on a registry of their own so tests
// (and two daemons in one process) never collide.
type metrics struct {
	reg         *prometheus.Registry
	files       *prometheus.CounterVec
	rows        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
	sftpErrors  *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enrollsftp_files_total",
			Help: "Files found in sources, by batch status, or SKIPPED (bytes already processed), REFUSED (not the file listed) or DEFERRED (backing off after failed downloads, or waiting for its drop's census)."},
			[]string{"source", "status"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enrollsftp_rows_total",
			Help: "Records processed, by outcome."}, []string{"source", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "enrollsftp_run_duration_seconds",
			Help: "Duration of one pass over a source.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)},
			[]string{"source"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "enrollsftp_last_success_timestamp_seconds",
			Help: "When a pass over the source last succeeded (Unix time)."}, []string{"source"}),
		sftpErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "enrollsftp_sftp_errors_total",
			Help: "Failed passes over a source, by the step that failed."}, []string{"source", "step"}),
	}
	m.reg.MustRegister(m.files, m.rows, m.duration, m.lastSuccess, m.sftpErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Label values a pass can report, declared at 0 for every source at start.
var (
	fileStatuses = []string{enrollsftp.BatchApplied, enrollsftp.BatchRejected, enrollsftp.BatchHeld, enrollsftp.BatchFailed,
		pipeline.StatusSkipped, pipeline.StatusRefused, pipeline.StatusDeferred}
	rowStatuses = []string{"ACCEPTED", "REJECTED", "DUPLICATE", "PENDING_KYC"}
)

// declare makes every series of a source exist before its first pass: a
// series that is absent is no alert's input, so a source that never
// succeeded would never fire `time() - last_success > …`; at 0 it does,
// and rate() and increase() count the first failure.
func (m *metrics) declare(source string) {
	for _, s := range fileStatuses {
		m.files.WithLabelValues(source, s)
	}
	for _, s := range rowStatuses {
		m.rows.WithLabelValues(source, s)
	}
	for _, step := range pipeline.Steps {
		m.sftpErrors.WithLabelValues(source, step)
	}
	m.duration.WithLabelValues(source)
	m.lastSuccess.WithLabelValues(source).Set(0)
}

// observe records one pass over a source.
func (m *metrics) observe(source string, reports []pipeline.FileReport, seconds float64, err error, end float64) {
	m.duration.WithLabelValues(source).Observe(seconds)
	for _, r := range reports {
		if r.Note == "redelivered" {
			continue // counted when it was processed
		}
		if r.Batch.ID == "" {
			m.files.WithLabelValues(source, r.Status).Inc()
			continue
		}
		b := r.Batch
		m.files.WithLabelValues(source, b.Status).Inc()
		m.rows.WithLabelValues(source, "ACCEPTED").Add(float64(b.Accepted))
		m.rows.WithLabelValues(source, "REJECTED").Add(float64(b.Rejected))
		m.rows.WithLabelValues(source, "DUPLICATE").Add(float64(b.Duplicate))
		m.rows.WithLabelValues(source, "PENDING_KYC").Add(float64(b.PendingKYC))
	}
	if err != nil {
		m.sftpErrors.WithLabelValues(source, pipeline.Step(err)).Inc()
		return
	}
	m.lastSuccess.WithLabelValues(source).Set(end)
}

package prober

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colo-portal/portal/models"
)

// The prober's Prometheus series (docs/operations.md, "Metrics"). They
// are made by New whether or not Config.Metrics is set, so the probe path
// never asks: a probe costs a map lookup, a counter's atomic add and, when
// it succeeded, a histogram's, and allocates nothing. The running totals
// the prober keeps anyway (Stats) are read at scrape time by statsCollector,
// costing the probe path nothing more.

// rttBuckets spread from a loopback ping to a slow HTTPS page, in seconds.
var rttBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// batchBuckets are results (or samples) per database write: a lone state
// change up to the largest PORTAL_PROBER_BATCH.
var batchBuckets = []float64{1, 10, 50, 100, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000}

// flushBuckets are the seconds one write takes, up to the write timeout.
var flushBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15}

// probeReasons are the failure reasons a probe may give; anything else is
// counted as models.ReasonError.
var probeReasons = []string{models.ReasonTimeout, models.ReasonRefused, models.ReasonUnreachable, models.ReasonDNS,
	models.ReasonBadStatus, models.ReasonKeyword, models.ReasonBadBanner, models.ReasonTLS, models.ReasonProtocol,
	models.ReasonError, models.ReasonPortDown}

// metrics are one prober's series.
type metrics struct {
	kinds    map[models.CheckKind]*kindMetrics
	other    *kindMetrics // a kind not in the table (none today)
	failures map[string]prometheus.Counter
	results  *writerMetrics
	traffic  *writerMetrics
	lease    map[bool]prometheus.Counter // lease rounds by success
	pollTime prometheus.Observer

	collectors []prometheus.Collector
}

// kindMetrics are one check kind's series, looked up once per probe.
type kindMetrics struct {
	ok, failed prometheus.Counter
	rtt        prometheus.Observer // nil for port checks
}

// writerMetrics are a batch writer's series (results or traffic samples).
// Its methods do nothing on nil (a writer built alone in a test).
type writerMetrics struct {
	batch, flush prometheus.Observer
	errors       prometheus.Counter
	depth        prometheus.Gauge
	spooling     prometheus.Gauge
}

func newMetrics(p *Prober) *metrics {
	probes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portal_probes_total",
		Help: "Probes run by this instance, by check kind and outcome (ok, failed); a switch port's state read by a poll counts as a probe of kind port."},
		[]string{"kind", "outcome"})
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portal_probe_failures_total",
		Help: "Failed probes by reason (timeout, refused, dns, bad_status, port_down, ...)."}, []string{"reason"})
	rtt := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portal_probe_rtt_seconds",
		Help: "Round-trip time of successful probes, by check kind.", Buckets: rttBuckets}, []string{"kind"})
	batch := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portal_prober_batch_size",
		Help:    "Results (writer=results) or traffic samples (writer=traffic) per database write, spool replays included.",
		Buckets: batchBuckets}, []string{"writer"})
	flush := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portal_prober_flush_seconds",
		Help:    "Time one database write of a batch took (RecordResults, RecordTraffic), failed ones included.",
		Buckets: flushBuckets}, []string{"writer"})
	flushErrors := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portal_prober_flush_errors_total",
		Help: "Database writes of a batch that failed (the batch went to the spool, or stayed there)."}, []string{"writer"})
	depth := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "portal_prober_spool_depth",
		Help: "What waits in a spool for the database: bytes of its file (records, for a spool kept in memory)."}, []string{"spool"})
	spooling := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "portal_prober_spooling",
		Help: "1 while a writer sends its batches to its spool because the database refused them, else 0."}, []string{"spool"})
	lease := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portal_prober_lease_rounds_total",
		Help: "Lease rounds (ShareChecks, then ShareSwitches), by outcome (ok, failed)."}, []string{"outcome"})
	pollTime := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "portal_snmp_poll_seconds",
		Help: "Time one SNMP poll of a switch took, failed ones included.", Buckets: flushBuckets})

	m := &metrics{kinds: map[models.CheckKind]*kindMetrics{}, failures: map[string]prometheus.Counter{},
		lease:    map[bool]prometheus.Counter{true: lease.WithLabelValues("ok"), false: lease.WithLabelValues("failed")},
		pollTime: pollTime}
	kind := func(k string) *kindMetrics {
		km := &kindMetrics{ok: probes.WithLabelValues(k, "ok"), failed: probes.WithLabelValues(k, "failed")}
		if k != string(models.KindPort) { // a port's state has no round trip
			km.rtt = rtt.WithLabelValues(k)
		}
		return km
	}
	for _, k := range append(models.CheckKinds, models.KindPort) {
		if k == models.KindICMP && p.cfg.SkipICMP {
			continue // no zero series for what this instance never probes
		}
		if k == models.KindPort && p.cfg.SNMPPoll == nil {
			continue
		}
		m.kinds[k] = kind(string(k))
	}
	m.other = kind("other")
	for _, r := range probeReasons {
		m.failures[r] = failures.WithLabelValues(r)
	}
	writer := func(name string) *writerMetrics {
		return &writerMetrics{batch: batch.WithLabelValues(name), flush: flush.WithLabelValues(name),
			errors: flushErrors.WithLabelValues(name), depth: depth.WithLabelValues(name), spooling: spooling.WithLabelValues(name)}
	}
	m.results = writer("results")
	m.collectors = []prometheus.Collector{probes, failures, rtt, batch, flush, flushErrors, depth, spooling, lease,
		&statsCollector{p: p}}
	if p.cfg.SNMPPoll != nil {
		m.traffic = writer("traffic")
		m.collectors = append(m.collectors, pollTime)
	}
	return m
}

// probed counts one probe of kind k and its round-trip time.
func (m *metrics) probed(k models.CheckKind, ok bool, rtt time.Duration, reason string) {
	km := m.kinds[k]
	if km == nil {
		km = m.other
	}
	if ok {
		km.ok.Inc()
		if km.rtt != nil {
			km.rtt.Observe(rtt.Seconds())
		}
		return
	}
	km.failed.Inc()
	f := m.failures[reason]
	if f == nil {
		f = m.failures[models.ReasonError]
	}
	f.Inc()
}

// wrote notes one database write of n records that took d.
func (m *writerMetrics) wrote(n int, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.batch.Observe(float64(n))
	m.flush.Observe(d.Seconds())
	if err != nil {
		m.errors.Inc()
	}
}

// spooled sets what the spool holds now (size: its Len) and whether the
// writer is spooling.
func (m *writerMetrics) spooled(size int64, spooling bool) {
	if m == nil {
		return
	}
	m.depth.Set(float64(size))
	if spooling {
		m.spooling.Set(1)
	} else {
		m.spooling.Set(0)
	}
}

// register adds the prober's collectors to reg (nil: none); a collector
// already there (a second prober on one registry) is logged and skipped.
func (p *Prober) register(reg *prometheus.Registry) {
	if reg == nil {
		return
	}
	for _, c := range p.m.collectors {
		if err := reg.Register(c); err != nil {
			p.log.Warn("prober: metric not registered", "err", err)
		}
	}
}

// statsCollector reads the prober's running totals (Stats) at scrape time.
type statsCollector struct{ p *Prober }

var (
	descChecksHeld = prometheus.NewDesc("portal_prober_checks_held",
		"Checks this instance holds a lease on (probes) now.", nil, nil)
	descSwitchesHeld = prometheus.NewDesc("portal_prober_switches_held",
		"Network devices this instance holds a lease on (polls over SNMP) now.", nil, nil)
	descSkipped = prometheus.NewDesc("portal_prober_slots_skipped_total",
		"Probe and poll slots missed: the previous one still running, a pool full, or the scheduler late.", nil, nil)
	descResults = prometheus.NewDesc("portal_prober_results_total",
		"Probe results by where they went: written (the database took them, replays not counted twice), spooled, replayed (from the spool to the database), lost (the spool could not keep them).",
		[]string{"path"}, nil)
	descBatches = prometheus.NewDesc("portal_prober_batches_total",
		"RecordResults calls that succeeded (live flushes and replayed chunks).", nil, nil)
	descPolls = prometheus.NewDesc("portal_snmp_polls_total",
		"SNMP polls of switches, by outcome (ok, failed: timeout, refused, bad credentials).", []string{"outcome"}, nil)
	descSamples = prometheus.NewDesc("portal_traffic_samples_total",
		"Traffic samples by where they went: written, spooled, replayed, lost (as portal_prober_results_total).",
		[]string{"path"}, nil)
)

func (s *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descChecksHeld, descSwitchesHeld, descSkipped, descResults, descBatches, descPolls, descSamples} {
		ch <- d
	}
}

func (s *statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := s.p.Stats()
	gauge := func(d *prometheus.Desc, v int64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), lv...)
	}
	counter := func(d *prometheus.Desc, v int64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), lv...)
	}
	gauge(descChecksHeld, st.Checks)
	counter(descSkipped, st.Skipped)
	counter(descResults, st.Written, "written")
	counter(descResults, st.Spooled, "spooled")
	counter(descResults, st.Replayed, "replayed")
	counter(descResults, st.Lost, "lost")
	counter(descBatches, st.Batches)
	if s.p.cfg.SNMPPoll == nil {
		return
	}
	gauge(descSwitchesHeld, st.Switches)
	counter(descPolls, st.Polls, "ok")
	counter(descPolls, st.PollErrors, "failed")
	counter(descSamples, st.Samples, "written")
	counter(descSamples, st.SamplesSpooled, "spooled")
	counter(descSamples, st.SamplesReplayed, "replayed")
	counter(descSamples, st.SamplesLost, "lost")
}

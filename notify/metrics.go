package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colo-portal/portal/models"
)

// The dispatcher's Prometheus series (docs/operations.md, "Metrics"). The
// counters are made by New whether or not Config.Metrics is set, so the
// code that counts never asks. What waits in the database (the outbox, the
// deliveries, the agreement's clocks) is read at scrape time by
// backlogCollector, at most once every backlogTTL, whichever instance or
// however many scrapers ask.

// backlogTTL is how long the database's figures are served from memory.
const backlogTTL = 15 * time.Second

// backlogTimeout bounds the figures' statements during a scrape.
const backlogTimeout = 5 * time.Second

type metrics struct {
	deliveries *prometheus.CounterVec // {transport, result}
	expanded   prometheus.Counter
	passes     prometheus.Counter
	lastPass   prometheus.Gauge
	// hooks counts customer webhook deliveries by outcome: the webhook
	// sender (notify/hooks.go) calls d.m.hookDelivery.
	hooks *prometheus.CounterVec
	// backlog reads the database's figures (nil without a Store).
	backlog *backlogCollector

	collectors []prometheus.Collector
}

func newMetrics(d *Dispatcher) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portal_notify_deliveries_total",
			Help: "Delivery attempts made by this instance, by transport (email, webhook) and result (accepted, bounced, retry, failed: given up, gone: what it was about no longer exists)."},
			[]string{"transport", "result"}),
		expanded: prometheus.NewCounter(prometheus.CounterOpts{Name: "portal_notify_events_expanded_total",
			Help: "Outbox events this instance turned into deliveries."}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{Name: "portal_notify_passes_total",
			Help: "Passes of the dispatcher over the outbox, the deliveries and the clocks."}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{Name: "portal_notify_last_pass_timestamp_seconds",
			Help: "When the dispatcher's last pass ended (Unix time)."}),
		hooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portal_webhook_deliveries_total",
			Help: "Customer webhook delivery attempts by outcome (delivered, retry, failed, refused)."}, []string{"outcome"}),
	}
	m.collectors = []prometheus.Collector{m.deliveries, m.expanded, m.passes, m.lastPass, m.hooks}
	if d.store != nil {
		m.backlog = &backlogCollector{store: d.store, log: d.log}
		m.collectors = append(m.collectors, m.backlog)
	}
	return m
}

// delivered counts one attempt of a delivery by transport.
func (m *metrics) delivered(transport, result string) {
	m.deliveries.WithLabelValues(transport, result).Inc()
}

// hookDelivery counts one attempt of a customer webhook delivery; outcome
// is one of a few fixed words (delivered, retry, failed, refused), never
// an address or a status text.
func (m *metrics) hookDelivery(outcome string) {
	m.hooks.WithLabelValues(outcome).Inc()
}

// register adds the dispatcher's collectors to reg (nil: none).
func (d *Dispatcher) register(reg *prometheus.Registry) {
	if reg == nil {
		return
	}
	for _, c := range d.m.collectors {
		if err := reg.Register(c); err != nil {
			d.log.Warn("notify: metric not registered", "err", err)
		}
	}
}

// backlogCollector reads models.NotifyBacklog and models.ClockCounts at
// scrape time, kept backlogTTL.
type backlogCollector struct {
	store *models.Store
	log   *slog.Logger

	mu     sync.Mutex
	at     time.Time // when the figures were read; zero: never
	queue  models.NotifyBacklog
	clocks []models.ClockCount
	failed bool
}

var (
	descOutboxPending = prometheus.NewDesc("portal_notify_outbox_pending",
		"Outbox events not yet turned into deliveries (the whole database, as every instance sees it).", nil, nil)
	descOutboxAge = prometheus.NewDesc("portal_notify_outbox_oldest_age_seconds",
		"Age of the oldest outbox event not yet turned into deliveries; 0 when none waits.", nil, nil)
	descPending = prometheus.NewDesc("portal_notify_deliveries_pending",
		"Pending deliveries by transport (call tasks wait for staff to log the call).", []string{"transport"}, nil)
	descLag = prometheus.NewDesc("portal_notify_oldest_due_lag_seconds",
		"How long the oldest due email or webhook delivery has been due: the dispatcher's lag; 0 when none is due.", nil, nil)
	descClocksRunning = prometheus.NewDesc("portal_sla_clocks_running",
		"Clocks of the agreement running now, by kind (emergency_notice, complaint_response, ...).", []string{"kind"}, nil)
	descClocksOverdue = prometheus.NewDesc("portal_sla_clocks_overdue",
		"Running clocks past their deadline that the dispatcher has not marked missed yet, by kind.", []string{"kind"}, nil)
	descClocksMissed = prometheus.NewDesc("portal_sla_clocks_missed_total",
		"Clocks of the agreement that ran out, ever, by kind (read from the database).", []string{"kind"}, nil)
	descBacklogUp = prometheus.NewDesc("portal_notify_backlog_up",
		"1 when the last read of the backlog and clocks from the database worked, else 0 (their series are left out then).", nil, nil)
)

func (b *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOutboxPending, descOutboxAge, descPending, descLag, descClocksRunning,
		descClocksOverdue, descClocksMissed, descBacklogUp} {
		ch <- d
	}
}

// read refreshes the figures when they are older than backlogTTL. b.mu is
// held, so scrapes that come together make one read.
func (b *backlogCollector) read() {
	now := time.Now()
	if !b.at.IsZero() && now.Sub(b.at) < backlogTTL {
		return
	}
	b.at = now
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	q, err := b.store.NotifyBacklog(ctx)
	var cs []models.ClockCount
	if err == nil {
		cs, err = b.store.ClockCounts(ctx)
	}
	if err != nil {
		if !b.failed {
			b.log.Warn("metrics: cannot read the notification backlog and clocks", "err", err)
		}
		b.failed = true
		return
	}
	b.queue, b.clocks, b.failed = q, cs, false
}

func (b *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.read()
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	if b.failed {
		gauge(descBacklogUp, 0)
		return
	}
	gauge(descBacklogUp, 1)
	now := b.store.Now()
	age := func(t time.Time) float64 {
		if t.IsZero() || t.After(now) {
			return 0
		}
		return now.Sub(t).Seconds()
	}
	q := b.queue
	gauge(descOutboxPending, float64(q.OutboxPending))
	gauge(descOutboxAge, age(q.OutboxOldest))
	for _, t := range []string{models.TransportEmail, models.TransportWebhook, models.TransportCall} {
		gauge(descPending, float64(q.Pending[t]), t)
	}
	gauge(descLag, age(q.OldestDue))
	for _, c := range b.clocks {
		gauge(descClocksRunning, float64(c.Running), c.Kind)
		gauge(descClocksOverdue, float64(c.Overdue), c.Kind)
		ch <- prometheus.MustNewConstMetric(descClocksMissed, prometheus.CounterValue, float64(c.Missed), c.Kind)
	}
}

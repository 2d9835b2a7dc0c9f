package notify

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/models/metricstest"
)

// The dispatcher's series: what waits in the database (the outbox, the
// deliveries and how late the oldest due one is, the clocks), read at
// scrape time and kept 15 s, and what this instance sent.
func TestMetricsShowTheBacklogAndClocks(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			w := newWorld(t, s, fx, fx.OrgA, "web-01", "10.0.0.5")
			w.contact(t, models.ContactInput{Name: "孙丽", Email: "sun.li@alpha.test", Channels: []models.Channel{models.ChannelEmail}, Locale: "zh-CN"})
			w.confirmContacts(t, fx.CustA)
			sink := startSMTP(t, ModeNone, nil, "", "")
			reg := prometheus.NewRegistry()
			d := New(Config{InstanceID: "portal-a", Location: shanghai(t), Clock: clock, Metrics: reg,
				SMTP: SMTPConfig{Host: "127.0.0.1", Port: sink.port(t), Mode: ModeNone, From: "noc@idc.test", Timeout: 5 * time.Second}},
				s, testLogger())
			scrape := func(fresh bool) metricstest.Families {
				t.Helper()
				if fresh { // as 15 s later
					d.m.backlog.mu.Lock()
					d.m.backlog.at = time.Time{}
					d.m.backlog.mu.Unlock()
				}
				return metricstest.Gather(t, reg)
			}
			want := func(f metricstest.Families, name string, want float64, labels ...string) {
				t.Helper()
				got, ok := f.Value(name, labels...)
				if !ok || got != want {
					t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
				}
			}

			f := scrape(false)
			want(f, "portal_notify_backlog_up", 1)
			want(f, "portal_notify_outbox_pending", 0)
			want(f, "portal_notify_oldest_due_lag_seconds", 0)
			for _, kind := range models.ClockKinds {
				want(f, "portal_sla_clocks_running", 0, "kind", kind)
				want(f, "portal_sla_clocks_missed_total", 0, "kind", kind)
			}

			o := w.fail(t, clock.Now())
			want(scrape(false), "portal_notify_outbox_pending", 0) // kept 15 s
			clock.Advance(30 * time.Second)
			f = scrape(true)
			want(f, "portal_notify_outbox_pending", 1)
			want(f, "portal_notify_outbox_oldest_age_seconds", 30)
			want(f, "portal_sla_clocks_running", 1, "kind", models.ClockEmergencyNotice)
			want(f, "portal_sla_clocks_overdue", 0, "kind", models.ClockEmergencyNotice)

			// Expanded but not sent: one email waits, due when the notice's
			// gathering window ends; five minutes on, it is that late.
			d.expandEvents(ctx)
			ds, _ := w.deliveries(t, o.ID)
			if len(ds) != 1 {
				t.Fatalf("deliveries %+v, want one email", ds)
			}
			clock.Advance(5 * time.Minute)
			f = scrape(true)
			want(f, "portal_notify_outbox_pending", 0)
			want(f, "portal_notify_outbox_oldest_age_seconds", 0)
			want(f, "portal_notify_deliveries_pending", 1, "transport", models.TransportEmail)
			want(f, "portal_notify_deliveries_pending", 0, "transport", models.TransportCall)
			want(f, "portal_notify_oldest_due_lag_seconds", clock.Now().Sub(ds[0].NextAttemptAt).Seconds())
			if lag, _ := f.Value("portal_notify_oldest_due_lag_seconds"); lag <= 0 {
				t.Errorf("lag %v, want the time the email has been due", lag)
			}
			// 15 minutes after the outage was confirmed its clock is past
			// its deadline; the dispatcher's pass sends the notice anyway.
			clock.Advance(10 * time.Minute)
			f = scrape(true)
			want(f, "portal_sla_clocks_overdue", 1, "kind", models.ClockEmergencyNotice)

			r := startDispatchers(t, clock, d)
			r.until(time.Minute, "the notice is sent", w.allDone(t, o.ID, models.EventOutageOpened, 1))
			f = scrape(true)
			want(f, "portal_notify_deliveries_total", 1, "transport", models.TransportEmail, "result", "accepted")
			want(f, "portal_notify_events_expanded_total", 1)
			want(f, "portal_notify_deliveries_pending", 0, "transport", models.TransportEmail)
			want(f, "portal_notify_oldest_due_lag_seconds", 0)
			want(f, "portal_sla_clocks_running", 0, "kind", models.ClockEmergencyNotice)
			want(f, "portal_sla_clocks_overdue", 0, "kind", models.ClockEmergencyNotice)
			want(f, "portal_sla_clocks_missed_total", 1, "kind", models.ClockEmergencyNotice)
			if v, _ := f.Value("portal_notify_passes_total"); v < 1 {
				t.Errorf("passes %v, want at least one", v)
			}
			if v, _ := f.Value("portal_notify_last_pass_timestamp_seconds"); v < float64(time.Now().Add(-time.Minute).Unix()) {
				t.Errorf("last pass at %v, want just now", v)
			}
		})
	}
}

// A dispatcher without a registry counts all the same; the webhook
// sender's counter (portal_webhook_deliveries_total) is there for it.
func TestMetricsWithoutARegistry(t *testing.T) {
	d := New(Config{}, nil, nil)
	d.m.hookDelivery("delivered")
	d.m.delivered(models.TransportEmail, "accepted")
	if d.m.backlog != nil {
		t.Error("a dispatcher without a store reads a backlog")
	}
	reg := prometheus.NewRegistry()
	d.register(reg)
	f := metricstest.Gather(t, reg)
	if v, _ := f.Value("portal_webhook_deliveries_total", "outcome", "delivered"); v != 1 {
		t.Errorf("webhook deliveries %v, want 1", v)
	}
	if v, _ := f.Value("portal_notify_deliveries_total", "transport", "email", "result", "accepted"); v != 1 {
		t.Errorf("deliveries %v, want 1", v)
	}
}

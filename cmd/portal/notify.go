package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/notify"
)

// runNotify sends the emergency and recovery notices until ctx ends. It
// runs on every instance: leases in the database make each notice go out
// once, and without SMTP or a webhook it still turns outages into phone
// tasks for staff and keeps the 15-minute clocks.
func runNotify(ctx context.Context, cfg *Config, store *models.Store, reg *prometheus.Registry, log *slog.Logger) {
	if cfg.Notify.SMTP.Host == "" {
		log.Warn("notify: PORTAL_SMTP_HOST is not set: email channels get no notices")
	}
	if cfg.BaseURL == "" {
		log.Warn("notify: PORTAL_BASE_URL is not set: notices carry no link to the outage page")
	}
	d := notify.New(notify.Config{BaseURL: cfg.BaseURL, Location: cfg.TimeZone, SMTP: cfg.Notify.SMTP,
		Webhook: cfg.Notify.Webhook, Incident: incidentRules(cfg), Metrics: reg}, store, log)
	if err := d.Run(ctx); err != nil {
		log.Error("notification dispatcher stopped", "err", err)
	}
}

// incidentRules are the incident thresholds with the notice window: the
// outages one notice gathers are the burst an incident is judged by (a
// window of 0, notices not grouped, keeps the incident's own default).
func incidentRules(cfg *Config) models.IncidentRules {
	r := cfg.Incident
	if cfg.Notify.NoticeWindow > 0 {
		r.Window = cfg.Notify.NoticeWindow
	}
	return r
}

package handlers

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
)

// retryUnavailable is the Retry-After, in seconds, of a 503: the database
// did not answer in time, or the instance is not ready.
const retryUnavailable = 5

// Readiness is what /readyz says beyond the database: whether the instance
// is still applying (or waiting for) migrations, or draining after a
// shutdown signal. cmd/portal sets it; the zero value is ready.
type Readiness struct {
	migrating atomic.Bool
	draining  atomic.Bool
}

// SetMigrating says whether migrations are running or awaited.
func (r *Readiness) SetMigrating(on bool) { r.migrating.Store(on) }

// SetDraining marks the instance as shutting down: it finishes the
// requests it has and should get no new ones.
func (r *Readiness) SetDraining() { r.draining.Store(true) }

// probePath is a path that load balancers and Docker poll: answered in
// plain text, logged at debug level.
func probePath(p string) bool { return p == "/healthz" || p == "/readyz" }

// untilMigrated answers every request but /healthz, /readyz and /metrics
// with 503 while the instance migrates: the tables the pages read may not
// exist yet (the metrics read none: the dispatcher, whose series read the
// database, starts after the migrations).
func (h *Handler) untilMigrated(c *fiber.Ctx) error {
	if h.ready.migrating.Load() && !probePath(c.Path()) && c.Path() != metricsPath {
		return fiber.ErrServiceUnavailable
	}
	return c.Next()
}

// checkDatabase runs the Store's database check (a real read and a write
// that changes nothing) within the database deadline.
func (h *Handler) checkDatabase(c *fiber.Ctx) (int, error) {
	ctx, cancel := context.WithTimeout(c.UserContext(), h.dbTimeout)
	defer cancel()
	return h.store.CheckDatabase(ctx)
}

// health answers 200 while the database answers a real query in time,
// 503 otherwise: is this process worth keeping (Docker, a supervisor)?
// Enabled checks that no prober instance holds (models.UnprobedChecks)
// keep the 200, as restarting this process would not probe them, but the
// body says "degraded" with their count and since when, for monitoring
// that reads it; /readyz ignores them, so that a load balancer never
// takes every instance out for them.
func (h *Handler) health(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), h.dbTimeout)
	defer cancel()
	var err error
	if h.ready.migrating.Load() {
		// The schema is not there yet: a migrating instance is alive
		// while its database answers.
		err = h.store.Ping(ctx)
	} else {
		_, err = h.store.CheckDatabase(ctx)
	}
	var u models.Unprobed
	if err == nil && !h.ready.migrating.Load() {
		u, err = h.store.UnprobedChecks(ctx, models.UnprobedGrace)
	}
	if err != nil {
		h.logger(c).Warn("health check: database does not answer in time", "err", err)
		c.Set(fiber.HeaderRetryAfter, itoa(retryUnavailable))
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unavailable\n")
	}
	if u.Checks > 0 {
		return c.SendString(fmt.Sprintf("degraded: %d checks unprobed since %s\n", u.Checks, u.Since.Format(time.RFC3339)))
	}
	return c.SendString("ok\n")
}

// readiness answers 200 when this instance should get requests: not
// draining, not migrating, the database answering in time with the schema
// this binary needs. Load balancers poll it.
func (h *Handler) readiness(c *fiber.Ctx) error {
	notReady := func(why string) error {
		c.Set(fiber.HeaderRetryAfter, itoa(retryUnavailable))
		return c.Status(fiber.StatusServiceUnavailable).SendString(why + "\n")
	}
	switch {
	case h.ready.draining.Load():
		return notReady("draining")
	case h.ready.migrating.Load():
		return notReady("migrating")
	}
	v, err := h.checkDatabase(c)
	if err != nil {
		h.logger(c).Warn("readiness check: database does not answer in time", "err", err)
		return notReady("database unavailable")
	}
	if v < models.SchemaVersion() {
		return notReady("migrating")
	}
	return c.SendString("ready\n")
}

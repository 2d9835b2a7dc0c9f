package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The web side's Prometheus series (docs/operations.md, "Metrics"). They
// are made by New whether or not Deps.Metrics is set, so the code that
// counts never asks; with a registry they are added to it and GET /metrics
// serves it behind Deps.MetricsToken.

// metricsPath is the scrape target's path: logged at debug level like the
// health checks (a scrape every 15 s), and answered while migrating.
const metricsPath = "/metrics"

// unmatchedRoute labels a request that no route of the table answered:
// an unknown path, or one the middleware answered before any route
// matched (a refused CSRF token, 503 while migrating). The raw path is
// never a label.
const unmatchedRoute = "unmatched"

// requestBuckets are seconds a request takes, from an asset to a slow PDF.
var requestBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// statusClasses label a status by its first digit.
var statusClasses = [...]string{"0xx", "1xx", "2xx", "3xx", "4xx", "5xx"}

func statusClass(code int) string {
	if i := code / 100; i >= 1 && i <= 5 {
		return statusClasses[i]
	}
	return statusClasses[0]
}

type metrics struct {
	requests *prometheus.HistogramVec // {method, route, code}
	signIns  *prometheus.CounterVec   // {step, outcome}
	// api counts JSON API requests by token scope and status class
	// (measureRequests, for every /api/ path).
	api *prometheus.CounterVec

	collectors []prometheus.Collector
}

func newMetrics() *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portal_http_request_duration_seconds",
			Help:    "Time to answer a request, by method, route template (the route table's path, or \"unmatched\") and status class (2xx, 3xx, 4xx, 5xx).",
			Buckets: requestBuckets}, []string{"method", "route", "code"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portal_signins_total",
			Help: "Sign-in attempts by step (password, second_factor, sso: through the single sign-on issuer) and outcome (ok, failed, limited: refused by the sign-in limits, busy: the password hashing slots were full)."},
			[]string{"step", "outcome"}),
		api: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portal_api_requests_total",
			Help: "JSON API requests by token scope (read, write, none: no valid token) and status class."},
			[]string{"scope", "code"}),
	}
	for _, step := range []string{"password", "second_factor"} {
		for _, outcome := range []string{"ok", "failed", "limited"} {
			m.signIns.WithLabelValues(step, outcome)
		}
	}
	m.signIns.WithLabelValues("sso", "ok")
	m.signIns.WithLabelValues("sso", "failed")
	m.collectors = []prometheus.Collector{m.requests, m.signIns, m.api}
	return m
}

// signIn counts one sign-in attempt.
func (m *metrics) signIn(step, outcome string) { m.signIns.WithLabelValues(step, outcome).Inc() }

// apiRequest counts one JSON API request; scope is a fixed word (read,
// write, none), never the token.
func (m *metrics) apiRequest(scope string, status int) {
	m.api.WithLabelValues(scope, statusClass(status)).Inc()
}

// measureRequests is the first middleware: it times the whole request,
// error page included, and labels it with the route template that
// answered (c.Route after the chain, once a route's guard has run), never
// the path asked for. Labels are strings of the route table or constants:
// fiber's own strings point into buffers reused after the request.
func (h *Handler) measureRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	route, method := unmatchedRoute, methodLabel(c.Method())
	if state(c).routed {
		route = c.Route().Path
	}
	status := c.Response().StatusCode()
	h.m.requests.WithLabelValues(method, route, statusClass(status)).Observe(time.Since(start).Seconds())
	if apiPath(c.Path()) {
		scope := "none" // no token, or one apiGuard refused
		if t := apiToken(c); t != nil {
			scope = "read"
			if t.CanWrite() {
				scope = "write"
			}
		}
		h.m.apiRequest(scope, status)
	}
	return err
}

// methodLabel is the request's method as a constant string.
func methodLabel(m string) string {
	switch m {
	case fiber.MethodGet:
		return fiber.MethodGet
	case fiber.MethodHead:
		return fiber.MethodHead
	case fiber.MethodPost:
		return fiber.MethodPost
	case fiber.MethodPut:
		return fiber.MethodPut
	case fiber.MethodPatch:
		return fiber.MethodPatch
	case fiber.MethodDelete:
		return fiber.MethodDelete
	case fiber.MethodOptions:
		return fiber.MethodOptions
	}
	return "other"
}

// serveMetrics answers GET /metrics with the registry's series for a
// scraper holding the bearer token (Deps.MetricsToken). Without a token
// or a registry the route answers 404, as an unknown path would; a wrong
// or missing token 401. A bare route: no session is looked up.
func (h *Handler) serveMetrics(c *fiber.Ctx) error {
	if h.metricsServe == nil {
		return fiber.ErrNotFound
	}
	auth := c.Get(fiber.HeaderAuthorization)
	token, ok := strings.CutPrefix(auth, "Bearer ")
	// Compared as SHA-256 sums, in constant time: neither the token nor
	// its length leaks through the answer's timing.
	got, want := sha256.Sum256([]byte(strings.TrimSpace(token))), sha256.Sum256([]byte(h.metricsToken))
	if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
		return c.Status(fiber.StatusUnauthorized).SendString("unauthorized\n")
	}
	return h.metricsServe(c)
}

// useMetrics adds the web side's series to reg and serves reg on GET
// /metrics when token is set; nil reg: the series are kept unregistered
// and the route answers 404.
func (h *Handler) useMetrics(reg *prometheus.Registry, token string) {
	h.m = newMetrics()
	if reg == nil {
		return
	}
	// At start-up, outside any request: the app's own logger.
	startLog := h.log
	for _, c := range h.m.collectors {
		if err := reg.Register(c); err != nil {
			startLog.Warn("metric not registered", "err", err)
		}
	}
	if token != "" {
		h.metricsToken = token
		h.metricsServe = adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	}
}

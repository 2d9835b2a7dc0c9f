// Package handlers is the web side of the portal: the fiber app, the route
// table with the access policy of every route, the middleware, and one file
// per area. Handlers parse, call one Store method, and render or redirect.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/views"
)

// Deps is everything the web side needs, built once in cmd/portal.
type Deps struct {
	Store  *models.Store
	Logger *slog.Logger
	// Secret keys the CSRF tokens.
	Secret []byte
	// Secure turns on Secure cookies with the __Host- prefix, and HSTS.
	Secure   bool
	Sessions models.SessionPolicy
	SignIn   models.SignInLimits
	// TrustedProxies may set X-Forwarded-For; empty trusts none.
	TrustedProxies []string
	// Location is the time zone pages show times in.
	Location *time.Location
	// Issuer names the portal in authenticator apps.
	Issuer string
	// Blobs keeps uploaded authorization scans; Uploads bounds them.
	Blobs   blobstore.Store
	Uploads models.UploadLimits
	// FollowUp is how long the signed form may take after a phone
	// authorization.
	FollowUp time.Duration
	// Context is the parent of every request's context: cancelling it
	// (at shutdown) cancels the requests' Store calls. Nil is Background.
	Context context.Context
	// RequestTimeout bounds each request's context; 0 is
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// OnCallRefresh is how often the on-call page fetches its live part;
	// 0 is DefaultOnCallRefresh, negative never.
	OnCallRefresh time.Duration
	// DBTimeout bounds each statement and each transaction of a request
	// (models.WithDBTimeout), and the database check of /healthz and
	// /readyz; 0 is models.DefaultDBTimeout.
	DBTimeout time.Duration
	// Readiness says whether this instance is migrating or draining, for
	// /readyz; nil is always ready (as far as the database goes).
	Readiness *Readiness
	// Provider is the data center's identity, printed on documents and
	// in the instructions for returning a signed form.
	Provider models.Provider
	// Means is how this data center delivers notices, told to customers
	// choosing their channels.
	Means views.DeliveryMeans
	// BaseURL is the portal's public URL, printed on documents; empty
	// takes the request's own.
	BaseURL string
	// DiscoverInterfaces walks a network device's IF-MIB for the staff
	// picking the ports to monitor (prober.SNMPDiscover, adapted in
	// cmd/portal; tests inject a fake). Nil: discovery is unavailable.
	DiscoverInterfaces DiscoverFunc
	// SSO is single sign-on for staff through an OpenID Connect issuer;
	// nil is off.
	SSO *SSOConfig
	// Metrics is the registry the web side's series are added to
	// (metrics.go); nil keeps them unregistered. MetricsToken, when set
	// with Metrics, lets a scraper read the registry at GET /metrics with
	// "Authorization: Bearer <token>"; without it the route answers 404.
	Metrics      *prometheus.Registry
	MetricsToken string
	// APIRate is how many requests a minute one API token may make
	// (PORTAL_API_RATE); 0 is DefaultAPIRate.
	APIRate int
}

// DiscoverFunc reads a network device's system name and interfaces with
// its credentials (the shape of prober.DiscoverFunc, which handlers may
// not import). Its errors match ErrDiscoverNoAnswer, ErrDiscoverRefused
// or ErrDiscoverSettings when they are of those kinds, for the page's
// words; their text goes only to the log.
type DiscoverFunc func(ctx context.Context, creds models.SNMPCredentials) (sysName string, ifs []models.Interface, err error)

// Kinds of discovery failure the page tells apart.
var (
	// ErrDiscoverNoAnswer: no answer in time (unreachable, or a community
	// or privacy key the agent silently ignores).
	ErrDiscoverNoAnswer = errors.New("no answer")
	// ErrDiscoverRefused: the agent refused the v3 credentials.
	ErrDiscoverRefused = errors.New("credentials refused")
	// ErrDiscoverSettings: the device's settings cannot be used.
	ErrDiscoverSettings = errors.New("bad settings")
)

// Handler holds the dependencies of every route.
type Handler struct {
	store    *models.Store
	log      *slog.Logger
	secret   []byte
	secure   bool
	sessions models.SessionPolicy
	limits   models.SignInLimits
	loc      *time.Location
	issuer   string
	blobs    blobstore.Store
	uploads  models.UploadLimits
	followUp time.Duration
	// uploadSlots bounds how many uploads are checked at once.
	uploadSlots chan struct{}
	// base and timeout make each request's context; trustProxies says
	// whether a proxy's X-Request-ID may be kept.
	base         context.Context
	timeout      time.Duration
	dbTimeout    time.Duration
	ready        *Readiness
	trustProxies bool
	// onCallRefresh is how often the on-call page refreshes itself.
	onCallRefresh time.Duration
	provider      models.Provider
	means         views.DeliveryMeans
	baseURL       string
	// discover walks a network device's interfaces (Deps.DiscoverInterfaces).
	discover DiscoverFunc
	// sso is the single sign-on issuer (Deps.SSO); nil when off.
	sso *ssoClient
	// barePaths and barePrefixes are the paths of the bare routes,
	// which skip the session lookup.
	barePaths    map[string]bool
	barePrefixes []string
	// m are the web side's series; metricsServe serves the registry at
	// /metrics to a scraper with metricsToken (nil: the route is 404).
	m            *metrics
	metricsToken string
	metricsServe fiber.Handler
	// apiLimiter is the per-token rate limit of the JSON API.
	apiLimiter *apiLimiter
}

// New builds the fiber app with every route of the route table.
func New(d Deps) *fiber.App {
	h := &Handler{store: d.Store, log: d.Logger, secret: d.Secret, secure: d.Secure,
		sessions: d.Sessions, limits: d.SignIn, loc: d.Location, issuer: d.Issuer, blobs: d.Blobs, uploads: d.Uploads,
		followUp: d.FollowUp, base: d.Context, timeout: d.RequestTimeout, dbTimeout: d.DBTimeout, ready: d.Readiness,
		trustProxies: len(d.TrustedProxies) > 0, onCallRefresh: d.OnCallRefresh,
		provider: d.Provider, baseURL: d.BaseURL, means: d.Means, discover: d.DiscoverInterfaces,
		sso: newSSOClient(d.SSO)}
	if h.onCallRefresh == 0 {
		h.onCallRefresh = DefaultOnCallRefresh
	}
	if h.base == nil {
		h.base = context.Background()
	}
	if h.timeout <= 0 {
		h.timeout = DefaultRequestTimeout
	}
	if h.dbTimeout <= 0 {
		h.dbTimeout = models.DefaultDBTimeout
	}
	if h.ready == nil {
		h.ready = &Readiness{}
	}
	if h.uploads.MaxBytes <= 0 {
		h.uploads = models.DefaultUploadLimits
	}
	h.uploadSlots = make(chan struct{}, 2)
	h.apiLimiter = newAPILimiter(d.APIRate)
	if h.followUp <= 0 {
		h.followUp = models.DefaultFollowUpDeadline
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.loc == nil {
		h.loc = time.UTC
	}
	if h.issuer == "" {
		h.issuer = "Colo Portal"
	}
	h.useMetrics(d.Metrics, d.MetricsToken)
	cfg := fiber.Config{
		ErrorHandler:          h.handleError,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		// Room for the largest upload and the rest of its form, so that a
		// file just over the limit gets the form's clear message.
		BodyLimit: int(max(12<<20, h.uploads.MaxBytes+4<<20)),
	}
	if len(d.TrustedProxies) > 0 {
		cfg.ProxyHeader = fiber.HeaderXForwardedFor
		cfg.EnableTrustedProxyCheck = true
		cfg.TrustedProxies = d.TrustedProxies
	}
	app := fiber.New(cfg)
	h.barePaths = map[string]bool{}
	for _, r := range h.routes() {
		if !r.Access.bare {
			continue
		}
		if i := strings.Index(r.Path, ":"); i >= 0 {
			h.barePrefixes = append(h.barePrefixes, r.Path[:i])
		} else {
			h.barePaths[r.Path] = true
		}
	}
	app.Use(h.measureRequests, h.requestContext, h.logRequests, h.recoverPanics, h.securityHeaders, h.untilMigrated, h.loadSession, h.decideScope, h.pickLocale, h.checkCSRF,
		h.oneTimeSubmission)
	for _, r := range h.routes() {
		if r.Method == fiber.MethodGet {
			// fiber's Get registers HEAD too: GET without the body.
			app.Get(r.Path, h.guard(r.Access), r.Handler)
			continue
		}
		app.Add(r.Method, r.Path, h.guard(r.Access), r.Handler)
	}
	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
	return app
}

// render writes a templ component as the response.
func (h *Handler) render(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return comp.Render(h.viewContext(c), c.Response().BodyWriter())
}

// viewContext carries the request-wide values to the templates.
func (h *Handler) viewContext(c *fiber.Ctx) context.Context {
	st := state(c)
	r := &views.Request{User: st.user, Lang: st.lang, CSRF: h.csrfToken(c), Path: c.Path(),
		T: locales.For(st.lang), Location: h.loc, Flash: st.flash, FlashKind: st.flashKind,
		Limited: st.mustEnroll || st.mustRenew}
	if st.stage != models.StageFull {
		r.User = nil
	}
	if r.User != nil && r.User.Role.IsStaff() {
		r.OpenIncident = st.openIncident
	}
	return views.WithRequest(c.UserContext(), r)
}

// redirect answers a form post with 303 See Other.
func redirect(c *fiber.Ctx, to string) error {
	return c.Redirect(to, fiber.StatusSeeOther)
}

var errorKeys = map[int]string{
	http.StatusBadRequest:            "error.bad_request",
	http.StatusUnauthorized:          "error.unauthorized",
	http.StatusForbidden:             "error.forbidden",
	http.StatusNotFound:              "error.not_found",
	http.StatusMethodNotAllowed:      "error.not_found",
	http.StatusRequestEntityTooLarge: "error.too_large",
	http.StatusTooManyRequests:       "error.too_many",
	http.StatusServiceUnavailable:    "error.unavailable",
}

// handleError is the one place errors become responses.
func (h *Handler) handleError(c *fiber.Ctx, err error) error {
	status := http.StatusInternalServerError
	var fe *fiber.Error
	wait, busy := models.IsHashBusy(err)
	switch {
	case errors.Is(err, models.ErrNotFound):
		status = http.StatusNotFound
	case busy:
		status = http.StatusTooManyRequests
		retryBusy(c, wait)
	case errors.As(err, &fe):
		status = fe.Code
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// The database did not answer in time (PORTAL_DB_TIMEOUT), the
		// request ran out of time, or the server is shutting down.
		status = http.StatusServiceUnavailable
	}
	if status == http.StatusServiceUnavailable && c.GetRespHeader(fiber.HeaderRetryAfter) == "" {
		c.Set(fiber.HeaderRetryAfter, itoa(retryUnavailable))
	}
	if status == http.StatusMethodNotAllowed {
		status = http.StatusNotFound
	}
	key, ok := errorKeys[status]
	if !ok {
		key = "error.internal"
	}
	// Only a refused form talks about forms that expired; a page the
	// role may not see says just that.
	if fe != nil && status == http.StatusForbidden && fe.Message == "csrf" {
		key = "error.csrf"
	}
	if apiPath(c.Path()) {
		return h.apiErrorAnswer(c, status, err)
	}
	if status >= 500 {
		h.logger(c).Error("request failed", "method", c.Method(), "path", loggedPath(c), "status", status, "err", err)
	}
	// The error page renders even when the request's time is up, in the
	// reader's language even when the error came before pickLocale (the
	// session could not be read).
	c.SetUserContext(context.WithoutCancel(c.UserContext()))
	if c.GetRespHeader(fiber.HeaderContentLanguage) == "" {
		st := state(c)
		st.lang = localeOf(c, st.user, st.sessionLang)
		c.Set(fiber.HeaderContentLanguage, st.lang)
	}
	if strings.HasPrefix(c.Path(), "/assets/") || probePath(c.Path()) {
		return c.Status(status).SendString(http.StatusText(status))
	}
	return h.render(c, status, views.ErrorPage(status, key))
}

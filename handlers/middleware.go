package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// reqState is what the middleware learns about a request.
type reqState struct {
	sessionID string // raw ID from the cookie, when the session is live
	stage     string
	user      *models.User
	lang      string
	// sessionLang is the language chosen on the sign-in page for this
	// session, which wins over the user's saved one.
	sessionLang string
	// openIncident is the open provider-wide incident, read with the
	// session: staff pages show a banner linking to it.
	openIncident int64
	// recentIncident is an incident open or resolved within a day: only
	// then does a customer's home read the incident update to show.
	recentIncident int64
	flash          string
	flashKind      string
	mustEnroll     bool // second factor required but not set up yet
	// mustRenew: the password was given by an admin and is changed
	// before anything else.
	mustRenew bool
	// scope is what the user may read, decided once by decideScope.
	scope models.Scope
	// routed is set by the guard of the route that answers: the request
	// reached a route of the table (else the middleware or the catch-all
	// answered it).
	routed bool
}

const stateKey = "portal.state"

func state(c *fiber.Ctx) *reqState {
	if s, ok := c.Locals(stateKey).(*reqState); ok {
		return s
	}
	s := &reqState{lang: locales.Default}
	c.Locals(stateKey, s)
	return s
}

// currentUser is the signed-in user of a route that requires one.
func currentUser(c *fiber.Ctx) *models.User { return state(c).user }

// actor is the signed-in user as the author of a change.
func actor(c *fiber.Ctx) models.Actor { return models.UserActor(currentUser(c), c.IP()) }

func (h *Handler) cookieName(base string) string {
	if h.secure {
		return "__Host-" + base
	}
	return base
}

func (h *Handler) setCookie(c *fiber.Ctx, base, value string, maxAge time.Duration, httpOnly bool) {
	ck := &fiber.Cookie{Name: h.cookieName(base), Value: value, Path: "/", HTTPOnly: httpOnly,
		Secure: h.secure, SameSite: fiber.CookieSameSiteLaxMode}
	if maxAge < 0 {
		ck.Expires = time.Unix(1, 0)
		ck.MaxAge = -1
	} else if maxAge > 0 {
		ck.MaxAge = int(maxAge / time.Second)
	}
	c.Cookie(ck)
}

func (h *Handler) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	attrs := []any{"method", c.Method(), "path", loggedPath(c), "status", c.Response().StatusCode(),
		"duration_ms", float64(time.Since(start).Microseconds()) / 1000, "ip", c.IP()}
	if u := state(c).user; u != nil {
		attrs = append(attrs, "user_id", u.ID)
	}
	if strings.HasPrefix(c.Path(), "/assets/") || probePath(c.Path()) || c.Path() == metricsPath {
		h.logger(c).Debug("request", attrs...)
	} else {
		h.logger(c).Info("request", attrs...)
	}
	return nil
}

// contentSecurityPolicy allows no inline script or style and no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

func (h *Handler) securityHeaders(c *fiber.Ctx) error {
	c.Set("Content-Security-Policy", contentSecurityPolicy)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	c.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
	// Pages hold customer data: never keep them in shared caches. Assets
	// override this with their own long cache.
	c.Set(fiber.HeaderCacheControl, "no-store")
	if h.secure {
		c.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	return c.Next()
}

// loadSession finds the live session of the cookie, if any, and the flash.
// A bare route (health checks, assets) is answered without either: it
// makes no statement about the session, whatever cookie comes with it.
func (h *Handler) loadSession(c *fiber.Ctx) error {
	if h.bareRoute(c.Path()) || apiPath(c.Path()) {
		// The API's requests are the token's (apiGuard): a session cookie
		// never authenticates one.
		return c.Next()
	}
	st := state(c)
	if raw := c.Cookies(h.cookieName("portal_session")); raw != "" {
		sess, u, err := h.store.LookupSession(c.UserContext(), raw, h.sessions)
		switch {
		case err == nil:
			st.sessionID, st.stage, st.user = raw, sess.Stage, u
			// Staff who sign in only through the issuer neither enroll a
			// second factor here (the issuer asks for one) nor change a
			// password they cannot use.
			ssoOnly := h.ssoOnly(u)
			st.mustEnroll = sess.Stage == models.StageFull && u.TOTPRequired && !u.TOTPEnabled && !ssoOnly
			st.mustRenew = sess.Stage == models.StageFull && u.MustChangePassword && !ssoOnly
			st.sessionLang = sess.Locale
			st.openIncident, st.recentIncident = sess.OpenIncidentID, sess.RecentIncidentID
		case errors.Is(err, models.ErrNotFound):
			h.setCookie(c, "portal_session", "", -1, true)
		default:
			return err
		}
	}
	if f := c.Cookies(h.cookieName("portal_flash")); f != "" {
		kind, key, _ := strings.Cut(f, ":")
		if strings.HasPrefix(key, "flash.") && (kind == "ok" || kind == "bad" || kind == "warn") {
			st.flash, st.flashKind = key, kind
		}
		h.setCookie(c, "portal_flash", "", -1, true)
	}
	return c.Next()
}

// bareRoute reports whether path is a bare route's.
func (h *Handler) bareRoute(path string) bool {
	if h.barePaths[path] {
		return true
	}
	for _, p := range h.barePrefixes {
		if strings.HasPrefix(path, p) && !strings.Contains(path[len(p):], "/") {
			return true
		}
	}
	return false
}

// flash shows key once on the next page.
func (h *Handler) flash(c *fiber.Ctx, kind, key string) {
	h.setCookie(c, "portal_flash", kind+":"+key, time.Minute, true)
}

// pickLocale chooses the language: the one chosen on the sign-in page
// for this session, the user's saved choice, then the language cookie,
// then Accept-Language.
func (h *Handler) pickLocale(c *fiber.Ctx) error {
	st := state(c)
	st.lang = localeOf(c, st.user, st.sessionLang)
	c.Set(fiber.HeaderContentLanguage, st.lang)
	return c.Next()
}

// localeOf is the language of a request: the session's (sessionLang, for
// a signed-in user), else the user's, else the cookie's, else the best
// match of Accept-Language.
func localeOf(c *fiber.Ctx, u *models.User, sessionLang string) string {
	switch {
	case u != nil && locales.Valid(sessionLang):
		return sessionLang
	case u != nil && locales.Valid(u.Locale):
		return u.Locale
	case locales.Valid(c.Cookies("portal_lang")):
		return c.Cookies("portal_lang")
	default:
		return locales.Match(c.Get(fiber.HeaderAcceptLanguage))
	}
}

// csrfKey is what a token is tied to: the session, or before sign-in a
// random value in its own cookie.
func (h *Handler) csrfKey(c *fiber.Ctx) string {
	if id := state(c).sessionID; id != "" {
		return "s:" + id
	}
	anon := c.Cookies(h.cookieName("portal_csrf"))
	if len(anon) != 32 {
		anon = models.NewSessionID()
		h.setCookie(c, "portal_csrf", anon, 0, true)
		c.Request().Header.SetCookie(h.cookieName("portal_csrf"), anon)
	}
	return "a:" + anon
}

func (h *Handler) csrfToken(c *fiber.Ctx) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte("csrf\x00" + h.csrfKey(c)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF refuses a state-changing request without the right token, in
// the X-CSRF-Token header or the _csrf field of the body. Never from the
// query string (c.FormValue would look there too), where a token leaks
// into logs, history and Referer headers.
func (h *Handler) checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if apiPath(c.Path()) {
		// A bearer token is no ambient credential: a page of another site
		// cannot make the browser send one, so the API needs no CSRF token.
		return c.Next()
	}
	got := c.Get("X-CSRF-Token")
	if got == "" {
		got = bodyField(c, "_csrf")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(h.csrfToken(c))) != 1 {
		h.logger(c).Warn("csrf token missing or wrong", "path", loggedPath(c), "ip", c.IP())
		return fiber.NewError(fiber.StatusForbidden, "csrf")
	}
	return c.Next()
}

// bodyField is a field of a url-encoded or multipart body, "" when absent.
func bodyField(c *fiber.Ctx, name string) string {
	if v := c.Request().PostArgs().Peek(name); len(v) > 0 {
		return string(v)
	}
	if f, err := c.MultipartForm(); err == nil && len(f.Value[name]) > 0 {
		return f.Value[name][0]
	}
	return ""
}

// guard enforces a route's access policy.
func (h *Handler) guard(a Access) fiber.Handler {
	if a.kind == accessAPI {
		api := h.apiGuard(a)
		return func(c *fiber.Ctx) error {
			state(c).routed = true // as below
			return api(c)
		}
	}
	return func(c *fiber.Ctx) error {
		st := state(c)
		st.routed = true // a route of the table answers: measureRequests labels it by c.Route()
		switch a.kind {
		case accessPublic:
			return c.Next()
		case accessPending:
			if st.stage != models.StageMFA {
				return redirect(c, "/login")
			}
			return c.Next()
		case accessSession:
			if st.sessionID == "" {
				return redirect(c, "/login")
			}
			return c.Next()
		}
		if st.stage != models.StageFull {
			if st.stage == models.StageMFA {
				return redirect(c, "/login/totp")
			}
			if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
				return redirect(c, "/login?next="+url.QueryEscape(c.OriginalURL()))
			}
			return fiber.ErrUnauthorized
		}
		if st.mustRenew && !a.Renew {
			return redirect(c, "/account/password")
		}
		if st.mustEnroll && !a.Enroll {
			return redirect(c, "/account/totp")
		}
		if !a.Allows(st.user.Role) {
			return fiber.ErrForbidden
		}
		return c.Next()
	}
}

// localPath keeps a redirect target on this site.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

package handlers

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/assets"
	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// paramID reads a numeric path parameter; anything else is not found.
func paramID(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

// optionalID reads an optional numeric form value ("" is nil).
func optionalID(s string) *int64 {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return nil
	}
	return &id
}

// serveAsset serves embedded files by their content-hashed names, so they
// can be cached for a year.
func (h *Handler) serveAsset(c *fiber.Ctx) error {
	f, ok := assets.Lookup(c.Params("name"))
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderContentType, f.ContentType)
	return c.Send(f.Body)
}

// setLanguage remembers the chosen language in a cookie and, for a
// signed-in user, in their profile.
func (h *Handler) setLanguage(c *fiber.Ctx) error {
	lang := c.FormValue("lang")
	if !locales.Valid(lang) {
		return fiber.ErrBadRequest
	}
	c.Cookie(&fiber.Cookie{Name: "portal_lang", Value: lang, Path: "/", MaxAge: 365 * 86400,
		SameSite: fiber.CookieSameSiteLaxMode, Secure: h.secure})
	if u := state(c).user; u != nil {
		if err := h.store.SetLocale(c.UserContext(), u.ID, lang); err != nil {
			return err
		}
		if id := state(c).sessionID; id != "" {
			if err := h.store.SetSessionLocale(c.UserContext(), id, lang); err != nil {
				return err
			}
		}
	}
	return redirect(c, localPath(c.FormValue("next")))
}

// retryBusy sets Retry-After for a request that found every hashing slot
// taken: the wait, in whole seconds rounded up.
func retryBusy(c *fiber.Ctx, wait time.Duration) {
	c.Set(fiber.HeaderRetryAfter, itoa(int64(math.Ceil(wait.Seconds()))))
}

// retryLimited sets Retry-After for a refusal by the sign-in limits and
// returns the minutes to quote to the user.
func retryLimited(c *fiber.Ctx, rl *models.RateLimitedError) int {
	c.Set(fiber.HeaderRetryAfter, itoa(int64(rl.RetryAfter.Seconds())+1))
	return int(math.Ceil(rl.RetryAfter.Minutes()))
}

// logSideWrite logs a failed write (an audit record) that the Store joined
// to its answer: the answer stands, the failure must not go unseen.
func (h *Handler) logSideWrite(c *fiber.Ctx, what string, err error) {
	if joined(err) {
		h.logger(c).Error(what+": a write besides the answer failed", "err", err, "ip", c.IP())
	}
}

// csvCells makes a row safe to open in a spreadsheet: a cell starting with
// =, +, -, @, a tab or a carriage return would be read as a formula there
// (CSV injection), so it gets a leading apostrophe, which spreadsheets show
// as text. What people typed (names, a failed sign-in's email) reaches
// the exports.
func csvCells(cells ...string) []string {
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}

// loggedPath is the request's path as the log may keep it: a path that
// carries a secret (an invitation's one-time token, the whole credential
// for setting a password; a calendar feed's token) has the secret cut out.
func loggedPath(c *fiber.Ctx) string {
	p := c.Path()
	if strings.HasPrefix(p, "/invite/") {
		return "/invite/…"
	}
	if strings.HasPrefix(p, "/calendar/") {
		return "/calendar/…"
	}
	return p
}

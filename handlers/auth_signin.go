package handlers

import (
	"errors"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

func (h *Handler) showLogin(c *fiber.Ctx) error {
	if state(c).stage == models.StageFull {
		return redirect(c, localPath(c.Query("next")))
	}
	return h.render(c, fiber.StatusOK, h.loginPage(views.LoginPageVM{Next: c.Query("next")}))
}

// loginPage is the sign-in form, with the single sign-on button when it
// is configured.
func (h *Handler) loginPage(vm views.LoginPageVM) templ.Component {
	vm.SSO = h.sso != nil
	return views.LoginPage(vm)
}

// signIn checks the password. With a second factor the session starts in
// the pending stage; either way the browser gets a new session ID, so an ID
// planted before sign-in is worth nothing after it.
func (h *Handler) signIn(c *fiber.Ctx) error {
	email, next := c.FormValue("email"), c.FormValue("next")
	// Control characters in the address are a form error, not a guess.
	if v, ok := models.AsValidation(models.CheckLine("email", email, 0)); ok && utf8.ValidString(email) {
		return h.render(c, fiber.StatusUnprocessableEntity, h.loginPage(views.LoginPageVM{
			Email: email, Next: next, Error: v.Key}))
	}
	u, err := h.store.Authenticate(c.UserContext(), email, c.FormValue("password"), c.IP(), h.limits)
	var limited *models.RateLimitedError
	h.logSideWrite(c, "sign-in", err)
	if wait, busy := models.IsHashBusy(err); busy {
		h.m.signIn("password", "busy")
		retryBusy(c, wait)
		return h.render(c, fiber.StatusTooManyRequests, h.loginPage(views.LoginPageVM{
			Email: email, Next: next, Error: "login.busy"}))
	}
	switch {
	case errors.As(err, &limited):
		h.m.signIn("password", "limited")
		minutes := retryLimited(c, limited)
		return h.render(c, fiber.StatusTooManyRequests, h.loginPage(views.LoginPageVM{
			Email: email, Next: next, Error: "login.rate_limited", Args: []any{minutes}}))
	case errors.Is(err, models.ErrBadCredentials):
		h.m.signIn("password", "failed")
		return h.render(c, fiber.StatusUnauthorized, h.loginPage(views.LoginPageVM{
			Email: email, Next: next, Error: "login.bad_credentials"}))
	case err != nil:
		return err
	}
	if h.sso != nil && !models.PasswordAllowedWithSSO(u, h.sso.cfg.BreakGlass) {
		// Staff sign in through the issuer; only the break-glass admins'
		// passwords still work.
		if err := h.store.Audit(c.UserContext(), models.Actor{Email: u.Email, IP: c.IP()}, models.AuditSignInFailed, "user", &u.ID, u.OrgID,
			map[string]any{"reason": "sso_required"}); err != nil {
			h.logger(c).Error("sign-in: audit write failed", "err", err, "user_id", u.ID)
		}
		h.m.signIn("password", "failed")
		return h.render(c, fiber.StatusForbidden, h.loginPage(views.LoginPageVM{Email: email, Next: next, Error: "sso.password_refused"}))
	}
	h.m.signIn("password", "ok")
	stage := models.StageFull
	if u.TOTPEnabled {
		stage = models.StageMFA
	}
	// A full session is audited with it, in one transaction.
	if err := h.startSession(c, u, stage, false); err != nil {
		return err
	}
	if stage == models.StageMFA {
		h.setCookie(c, "portal_next", localPath(next), h.sessions.MFA, true)
		return redirect(c, "/login/totp")
	}
	return redirect(c, localPath(next))
}

// joined reports an error that joins several (errors.Join): the store
// joins a failed side write, such as an audit record, to its answer.
func joined(err error) bool {
	var j interface{ Unwrap() []error }
	return errors.As(err, &j)
}

// startSession replaces whatever session the browser had with a new one;
// a full session is audited as a sign-in (mfa: after the second factor)
// in the same transaction, and the cookie is set only once both are
// written.
func (h *Handler) startSession(c *fiber.Ctx, u *models.User, stage string, mfa bool) error {
	raw, err := h.store.SignInSession(c.UserContext(), u, stage, h.sessions, c.IP(), c.Get(fiber.HeaderUserAgent),
		c.Cookies(h.cookieName("portal_session")), mfa)
	if err != nil {
		return err
	}
	return h.sessionStarted(c, u, raw, stage)
}

// sessionStarted gives the browser the cookie of the new session raw and
// settles its language.
func (h *Handler) sessionStarted(c *fiber.Ctx, u *models.User, raw, stage string) error {
	life := h.sessions.Absolute
	if stage == models.StageMFA {
		life = h.sessions.MFA
	}
	h.setCookie(c, "portal_session", raw, life, true)
	// A language chosen on the sign-in page (its cookie) wins for this
	// session over the one saved with the user; without one, the user's
	// becomes the browser's.
	if lang := c.Cookies("portal_lang"); locales.Valid(lang) {
		return h.store.SetSessionLocale(c.UserContext(), raw, lang)
	}
	if u.Locale != "" {
		c.Cookie(&fiber.Cookie{Name: "portal_lang", Value: u.Locale, Path: "/", MaxAge: 365 * 86400,
			SameSite: fiber.CookieSameSiteLaxMode, Secure: h.secure})
	}
	return nil
}

func (h *Handler) showSecondFactor(c *fiber.Ctx) error {
	return h.render(c, fiber.StatusOK, views.TOTPPage(views.TOTPPageVM{}))
}

func (h *Handler) verifySecondFactor(c *fiber.Ctx) error {
	st := state(c)
	// Wrong codes count against the account like wrong passwords: the
	// store reserves the attempt under the limits before comparing the
	// code, so opening many pending sessions with a known password, or
	// sending many codes at once, gains no extra guesses.
	limited := func(err error) error {
		var rl *models.RateLimitedError
		if !errors.As(err, &rl) {
			return err
		}
		h.m.signIn("second_factor", "limited")
		if err := h.store.DeleteSession(c.UserContext(), st.sessionID); err != nil {
			return err
		}
		h.setCookie(c, "portal_session", "", -1, true)
		h.flash(c, "bad", "flash.totp_too_many")
		return redirect(c, "/login")
	}
	res, err := h.store.VerifySecondFactor(c.UserContext(), st.user.ID, c.FormValue("code"), c.IP(), h.limits)
	h.logSideWrite(c, "second factor", err)
	if errors.Is(err, models.ErrBadCode) {
		h.m.signIn("second_factor", "failed")
		// The failure that used up the limit ends the pending session now.
		if lerr := h.store.CheckSignInLimits(c.UserContext(), st.user.Email, c.IP(), h.limits); lerr != nil {
			return limited(lerr)
		}
		return h.render(c, fiber.StatusUnauthorized, views.TOTPPage(views.TOTPPageVM{Error: "totp.bad_code"}))
	}
	if err != nil {
		return limited(err)
	}
	h.m.signIn("second_factor", "ok")
	if err := h.startSession(c, st.user, models.StageFull, true); err != nil {
		return err
	}
	next := localPath(c.Cookies(h.cookieName("portal_next")))
	h.setCookie(c, "portal_next", "", -1, true)
	if res.RecoveryCode {
		// Say so, and how many are left, where the codes are managed.
		key := "flash.recovery_code_used"
		if res.CodesLeft <= 2 {
			key = "flash.recovery_codes_low"
		}
		h.flash(c, "warn", key)
		return redirect(c, "/account")
	}
	return redirect(c, next)
}

// signOut ends the session on the server, not only in the browser.
func (h *Handler) signOut(c *fiber.Ctx) error {
	st := state(c)
	if err := h.store.DeleteSession(c.UserContext(), st.sessionID); err != nil {
		return err
	}
	if st.user != nil {
		if err := h.store.Audit(c.UserContext(), models.UserActor(st.user, c.IP()), models.AuditSignOut, "user", &st.user.ID, st.user.OrgID, nil); err != nil {
			h.logger(c).Error("sign-out: audit write failed", "err", err, "user_id", st.user.ID)
		}
	}
	h.setCookie(c, "portal_session", "", -1, true)
	h.flash(c, "ok", "flash.signed_out")
	return redirect(c, "/login")
}

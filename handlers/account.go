package handlers

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image/png"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

func (h *Handler) showAccount(c *fiber.Ctx) error {
	return h.renderAccount(c, fiber.StatusOK, nil)
}

func (h *Handler) renderAccount(c *fiber.Ctx, status int, errs views.FormErrors) error {
	ctx, u := c.UserContext(), currentUser(c)
	sessions, err := h.store.ListSessions(ctx, u.ID, h.sessions)
	if err != nil {
		return err
	}
	vm := views.AccountPageVM{Errors: errs}
	for _, s := range sessions {
		vm.Sessions = append(vm.Sessions, views.SessionRow{Session: s, Current: s.IsSession(state(c).sessionID)})
	}
	if u.TOTPEnabled {
		if vm.CodesLeft, err = h.store.RecoveryCodesLeft(ctx, u.ID); err != nil {
			return err
		}
	}
	return h.render(c, status, views.AccountPage(vm))
}

// showPasswordChange is the password form alone, where a user whose
// password was given by an admin is sent before anything else.
func (h *Handler) showPasswordChange(c *fiber.Ctx) error {
	return h.renderPasswordChange(c, fiber.StatusOK, nil)
}

func (h *Handler) renderPasswordChange(c *fiber.Ctx, status int, errs views.FormErrors) error {
	if !currentUser(c).MustChangePassword {
		return h.renderAccount(c, status, errs)
	}
	return h.render(c, status, views.PasswordChangePage(views.PasswordChangePageVM{Errors: errs}))
}

// passwordFormErrors are the mistakes of the password form that can be
// seen without checking the current password, all at once.
func passwordFormErrors(c *fiber.Ctx, email string) views.FormErrors {
	errs := views.FormErrors{}
	if c.FormValue("current") == "" {
		errs["current"] = &models.ValidationError{Field: "current", Key: "error.required"}
	}
	if v, ok := models.AsValidation(models.CheckPasswordPolicy(c.FormValue("password"), email)); ok {
		v.Field = "password"
		errs["password"] = v
	}
	if c.FormValue("password") != c.FormValue("confirm") {
		errs["confirm"] = &models.ValidationError{Field: "confirm", Key: "error.password_mismatch"}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// changePassword ends every other session and gives this one a new ID.
func (h *Handler) changePassword(c *fiber.Ctx) error {
	if errs := passwordFormErrors(c, currentUser(c).Email); errs != nil {
		return h.renderPasswordChange(c, fiber.StatusUnprocessableEntity, errs)
	}
	renewed, err := h.store.ChangePassword(c.UserContext(), currentUser(c).ID, c.FormValue("current"), c.FormValue("password"),
		c.IP(), state(c).sessionID, h.limits)
	h.logSideWrite(c, "password change", err)
	var limited *models.RateLimitedError
	if errors.As(err, &limited) {
		minutes := retryLimited(c, limited)
		return h.renderPasswordChange(c, fiber.StatusTooManyRequests, views.FormErrors{"current": &models.ValidationError{
			Field: "current", Key: "error.current_password_limited", Args: []any{minutes}}})
	}
	if errs := views.FromError(err); errs != nil {
		return h.renderPasswordChange(c, fiber.StatusUnprocessableEntity, errs)
	}
	if err != nil {
		return err
	}
	if renewed != "" {
		// The server keeps the session's expiry; the cookie is only its
		// carrier.
		h.setCookie(c, "portal_session", renewed, h.sessions.Absolute, true)
	}
	h.flash(c, "ok", "flash.password_changed")
	return redirect(c, "/account")
}

// endOtherSessions signs the user out on every other device.
func (h *Handler) endOtherSessions(c *fiber.Ctx) error {
	n, err := h.store.EndOtherSessions(c.UserContext(), actor(c), currentUser(c).ID, state(c).sessionID)
	if err != nil {
		return err
	}
	key := "flash.other_sessions_ended"
	if n == 0 {
		key = "flash.no_other_sessions"
	}
	h.flash(c, "ok", key)
	return redirect(c, "/account")
}

func (h *Handler) showTOTPSetup(c *fiber.Ctx) error {
	return h.renderTOTPSetup(c, fiber.StatusOK, "")
}

func (h *Handler) renderTOTPSetup(c *fiber.Ctx, status int, errKey string) error {
	u := currentUser(c)
	if u.TOTPEnabled {
		return redirect(c, "/account")
	}
	vm := views.TOTPSetupPageVM{Forced: state(c).mustEnroll, Error: errKey}
	en, err := h.store.PendingTOTP(c.UserContext(), u.ID)
	switch {
	case err == nil:
		vm.Secret, vm.URI = en.Secret, en.URI
		if vm.QR, err = qrDataURL(en.URI); err != nil {
			return err
		}
	case !errors.Is(err, models.ErrNotFound):
		return err
	}
	return h.render(c, status, views.TOTPSetupPage(vm))
}

// qrDataURL draws the otpauth URI as a PNG for authenticator apps. The
// portal builds this URL itself from its own PNG, so templ may take it as
// safe (a data: URL from anywhere else never is).
func qrDataURL(uri string) (string, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return "", err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

func (h *Handler) beginTOTP(c *fiber.Ctx) error {
	if _, err := h.store.BeginTOTP(c.UserContext(), currentUser(c).ID, h.issuer); err != nil {
		return err
	}
	return redirect(c, "/account/totp")
}

// confirmTOTP turns the second factor on and shows the recovery codes,
// once: this answer is the only place they ever appear.
func (h *Handler) confirmTOTP(c *fiber.Ctx) error {
	codes, err := h.store.ConfirmTOTP(c.UserContext(), actor(c), currentUser(c).ID, c.FormValue("code"))
	if errors.Is(err, models.ErrBadCode) {
		return h.renderTOTPSetup(c, fiber.StatusUnprocessableEntity, "totp.bad_code")
	}
	if err != nil {
		return err
	}
	// The page below is the first the user sees with the factor on; the
	// middleware read the user before the change.
	st := state(c)
	st.mustEnroll = false
	st.user.TOTPEnabled = true
	st.flash, st.flashKind = "flash.totp_enabled", "ok"
	return h.render(c, fiber.StatusOK, views.RecoveryCodesPage(views.RecoveryCodesPageVM{Codes: codes}))
}

// regenerateRecoveryCodes replaces the recovery codes and shows the new
// ones, once.
func (h *Handler) regenerateRecoveryCodes(c *fiber.Ctx) error {
	codes, err := h.store.RegenerateRecoveryCodes(c.UserContext(), actor(c), currentUser(c).ID)
	if errs := views.FromError(err); errs != nil {
		return h.renderAccount(c, fiber.StatusUnprocessableEntity, errs)
	}
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.RecoveryCodesPage(views.RecoveryCodesPageVM{Codes: codes, Regenerated: true}))
}

func (h *Handler) disableTOTP(c *fiber.Ctx) error {
	u := currentUser(c)
	if u.TOTPRequired {
		return fiber.ErrForbidden
	}
	if err := h.store.DisableTOTP(c.UserContext(), actor(c), u.ID); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.totp_disabled")
	return redirect(c, "/account")
}

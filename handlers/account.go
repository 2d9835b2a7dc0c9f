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
	n, err := h.store.CountSessions(c.UserContext(), currentUser(c).ID, h.sessions)
	if err != nil {
		return err
	}
	return h.render(c, status, views.AccountPage(views.AccountPageVM{Errors: errs, Sessions: n}))
}

// changePassword ends every other session and gives this one a new ID.
func (h *Handler) changePassword(c *fiber.Ctx) error {
	if c.FormValue("password") != c.FormValue("confirm") {
		return h.renderAccount(c, fiber.StatusUnprocessableEntity,
			views.FormErrors{"confirm": {Field: "confirm", Key: "error.password_mismatch"}})
	}
	renewed, err := h.store.ChangePassword(c.UserContext(), currentUser(c).ID, c.FormValue("current"), c.FormValue("password"),
		c.IP(), state(c).sessionID, h.limits)
	h.logSideWrite(c, "password change", err)
	var limited *models.RateLimitedError
	if errors.As(err, &limited) {
		minutes := retryLimited(c, limited)
		return h.renderAccount(c, fiber.StatusTooManyRequests, views.FormErrors{"current": &models.ValidationError{
			Field: "current", Key: "error.current_password_limited", Args: []any{minutes}}})
	}
	if errs := views.FromError(err); errs != nil {
		return h.renderAccount(c, fiber.StatusUnprocessableEntity, errs)
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

// qrDataURL draws the otpauth URI as a PNG for authenticator apps.
func qrDataURL(uri string) (string, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return "", err
	}
	img, err := key.Image(200, 200)
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

func (h *Handler) confirmTOTP(c *fiber.Ctx) error {
	err := h.store.ConfirmTOTP(c.UserContext(), actor(c), currentUser(c).ID, c.FormValue("code"))
	if errors.Is(err, models.ErrBadCode) {
		return h.renderTOTPSetup(c, fiber.StatusUnprocessableEntity, "totp.bad_code")
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.totp_enabled")
	return redirect(c, "/account")
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

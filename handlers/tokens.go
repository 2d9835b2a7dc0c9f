package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// adminTokenLimit bounds the admins' list of live tokens.
const adminTokenLimit = 500

// showTokens is the user's personal access tokens of the JSON API, with
// the form to make one.
func (h *Handler) showTokens(c *fiber.Ctx) error {
	return h.renderTokens(c, fiber.StatusOK, views.TokensPageVM{})
}

func (h *Handler) renderTokens(c *fiber.Ctx, status int, vm views.TokensPageVM) error {
	ts, err := h.store.ListAPITokens(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	vm.Tokens, vm.Now = ts, h.store.Now()
	return h.render(c, status, views.TokensPage(vm))
}

// createToken makes a token and answers with the page that shows it, this
// once: never through a redirect, a flash or a cookie, and the request log
// has no body. A repeat of the same form (its one-time token) is sent to
// the list and makes nothing.
func (h *Handler) createToken(c *fiber.Ctx) error {
	in := views.TokenInput{Name: c.FormValue("name"), Write: c.FormValue("scope") == models.ScopeWrite,
		Days: strings.TrimSpace(c.FormValue("days"))}
	days, err := strconv.Atoi(in.Days)
	if err != nil {
		days = 0 // refused by the Store with the other fields' mistakes
	}
	t, secret, err := h.store.CreateAPIToken(c.UserContext(), actor(c), models.APITokenInput{Name: in.Name, Write: in.Write, Days: days})
	if errs := views.FromError(err); errs != nil {
		return h.renderTokens(c, fiber.StatusUnprocessableEntity, views.TokensPageVM{Input: in, Errors: errs})
	}
	if err != nil {
		return err
	}
	// A repeat of the form goes to the list, without the secret.
	submittedTo(c, "/account/tokens")
	return h.renderTokens(c, fiber.StatusOK, views.TokensPageVM{New: t, NewSecret: secret})
}

// revokeToken revokes one of the user's own tokens (an admin's, any
// user's); another user's token is not found.
func (h *Handler) revokeToken(c *fiber.Ctx) error {
	return h.revokeTokenThen(c, "/account/tokens")
}

// showAdminTokens is every live token of every user, for admins.
func (h *Handler) showAdminTokens(c *fiber.Ctx) error {
	ctx := c.UserContext()
	ts, err := h.store.ListLiveAPITokens(ctx, adminTokenLimit)
	if err != nil {
		return err
	}
	orgs, err := h.store.ListOrgs(ctx, scope(c))
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.AdminTokensPage(views.AdminTokensPageVM{Tokens: ts, Orgs: orgs,
		Now: h.store.Now(), Limit: adminTokenLimit}))
}

// revokeAdminToken revokes any user's token, from the admins' list.
func (h *Handler) revokeAdminToken(c *fiber.Ctx) error {
	return h.revokeTokenThen(c, "/admin/tokens")
}

func (h *Handler) revokeTokenThen(c *fiber.Ctx, back string) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	if err := h.store.RevokeAPIToken(c.UserContext(), actor(c), currentUser(c), id); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.api_token_revoked")
	return redirect(c, back)
}

package handlers

import (
	"context"
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
	h.completeOnce(c, "/account/tokens")
	return h.renderTokens(c, fiber.StatusOK, views.TokensPageVM{New: t, NewSecret: secret})
}

// completeOnce records that the form's one-time token (views.Once) led to
// location, for a create that answers with a page rather than a redirect
// (a secret shown once): a repeat of the post is sent to location, and the
// token is not given back (oneTimeSubmission gives back only tokens that
// led nowhere).
func (h *Handler) completeOnce(c *fiber.Ctx, location string) {
	token := bodyField(c, "_once")
	u := currentUser(c)
	if !onceRE.MatchString(token) || u == nil {
		return
	}
	if err := h.store.CompleteSubmission(context.WithoutCancel(c.UserContext()), token, u.ID, location); err != nil {
		h.logger(c).Error("record a form's submission", "path", loggedPath(c), "err", err)
	}
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

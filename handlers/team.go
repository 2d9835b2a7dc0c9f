package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// isOrgAdmin reports whether the signed-in customer administers the users
// of their organization.
func (h *Handler) isOrgAdmin(c *fiber.Ctx) (bool, error) {
	return h.store.IsOrgAdmin(c.UserContext(), currentUser(c))
}

// requireOrgAdmin refuses a colleague who is not the organization's
// administrator.
func (h *Handler) requireOrgAdmin(c *fiber.Ctx) error {
	ok, err := h.isOrgAdmin(c)
	if err != nil {
		return err
	}
	if !ok {
		return fiber.ErrForbidden
	}
	return nil
}

// showTeam lists the users of the customer's own organization; its
// administrator also gets the invitation form.
func (h *Handler) showTeam(c *fiber.Ctx) error {
	return h.renderTeam(c, fiber.StatusOK, models.InviteInput{}, nil)
}

func (h *Handler) renderTeam(c *fiber.Ctx, status int, in models.InviteInput, errs views.FormErrors) error {
	members, err := h.store.ListTeam(c.UserContext(), scope(c), ownOrg(c))
	if err != nil {
		return err
	}
	admin, err := h.isOrgAdmin(c)
	if err != nil {
		return err
	}
	return h.render(c, status, views.TeamPage(views.TeamPageVM{Members: members, Admin: admin, Invite: in, Errors: errs}))
}

// inviteUser creates a colleague and emails them a one-time link to set
// their password.
func (h *Handler) inviteUser(c *fiber.Ctx) error {
	if err := h.requireOrgAdmin(c); err != nil {
		return err
	}
	in := models.InviteInput{Email: c.FormValue("email"), Name: c.FormValue("name"), Phone: c.FormValue("phone"),
		Locale: c.FormValue("locale")}
	u, err := h.store.InviteUser(c.UserContext(), actor(c), scope(c), ownOrg(c), in)
	if errs := views.FromError(err); errs != nil {
		return h.renderTeam(c, fiber.StatusUnprocessableEntity, in, errs)
	}
	if err != nil {
		return err
	}
	if !h.means.Email {
		// Nothing carries the link: say so rather than "sent".
		h.flash(c, "warn", "flash.user_invited_no_mail")
		return redirect(c, "/team/"+itoa(u.ID))
	}
	h.flash(c, "ok", "flash.user_invited")
	return redirect(c, "/team/"+itoa(u.ID))
}

// showTeamMember shows a colleague; a user of another organization is 404.
// The administrator also sees their sign-ins and may disable them.
func (h *Handler) showTeamMember(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	u, err := h.store.GetOrgUser(c.UserContext(), scope(c), id)
	if err != nil {
		return err
	}
	admin, err := h.isOrgAdmin(c)
	if err != nil {
		return err
	}
	vm := views.TeamMemberPageVM{User: u, Admin: admin, Self: u.ID == currentUser(c).ID}
	if admin {
		vm.SignIns, err = h.store.ListAudit(c.UserContext(), scope(c), models.AuditFilter{Action: models.AuditSignIn, ActorID: u.ID, Limit: 20})
		if err != nil {
			return err
		}
	}
	return h.render(c, fiber.StatusOK, views.TeamMemberPage(vm))
}

func (h *Handler) disableTeamMember(c *fiber.Ctx) error { return h.setTeamMemberDisabled(c, true) }
func (h *Handler) enableTeamMember(c *fiber.Ctx) error  { return h.setTeamMemberDisabled(c, false) }

func (h *Handler) setTeamMemberDisabled(c *fiber.Ctx, disabled bool) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	// Another organization's user is not found, before anything else.
	if _, err := h.store.GetOrgUser(c.UserContext(), scope(c), id); err != nil {
		return err
	}
	if err := h.requireOrgAdmin(c); err != nil {
		return err
	}
	err = h.store.SetTeamMemberDisabled(c.UserContext(), actor(c), scope(c), ownOrg(c), id, disabled)
	if v, ok := models.AsValidation(err); ok {
		h.flash(c, "bad", "flash."+v.Key[len("error."):])
		return redirect(c, "/team/"+itoa(id))
	}
	if err != nil {
		return err
	}
	key := "flash.user_enabled"
	if disabled {
		key = "flash.user_disabled"
	}
	h.flash(c, "ok", key)
	return redirect(c, "/team/"+itoa(id))
}

// showInvitation is the page of an invitation's link: set a password.
func (h *Handler) showInvitation(c *fiber.Ctx) error {
	_, u, err := h.store.GetInvitation(c.UserContext(), c.Params("token"))
	if err != nil {
		return h.render(c, fiber.StatusNotFound, views.InvitationPage(views.InvitationPageVM{Gone: true}))
	}
	return h.render(c, fiber.StatusOK, views.InvitationPage(views.InvitationPageVM{Token: c.Params("token"), User: u}))
}

// acceptInvitation sets the password and sends the user to sign in.
func (h *Handler) acceptInvitation(c *fiber.Ctx) error {
	token := c.Params("token")
	_, u, err := h.store.GetInvitation(c.UserContext(), token)
	if err != nil {
		return h.render(c, fiber.StatusNotFound, views.InvitationPage(views.InvitationPageVM{Gone: true}))
	}
	_, err = h.store.AcceptInvitation(c.UserContext(), token, c.FormValue("password"), c.FormValue("confirm"), c.IP())
	if errs := views.FromError(err); errs != nil {
		return h.render(c, fiber.StatusUnprocessableEntity, views.InvitationPage(views.InvitationPageVM{Token: token, User: u, Errors: errs}))
	}
	if err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return h.render(c, fiber.StatusNotFound, views.InvitationPage(views.InvitationPageVM{Gone: true}))
		}
		return err
	}
	h.flash(c, "ok", "flash.invitation_accepted")
	return redirect(c, "/login")
}

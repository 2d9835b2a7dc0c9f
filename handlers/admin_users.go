package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

func (h *Handler) showUsers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f := models.UserFilter{Query: c.Query("q")}
	if r, err := models.ParseRole(c.Query("role")); err == nil {
		f.Role = r
	}
	if id := optionalID(c.Query("org")); id != nil {
		f.OrgID = *id
	}
	users, err := h.store.ListUsers(ctx, scope(c), f)
	if err != nil {
		return err
	}
	orgs, err := h.store.ListOrgs(ctx, scope(c))
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.UsersPage(views.UsersPageVM{Users: users, Orgs: orgs, Filter: f}))
}

func (h *Handler) newUser(c *fiber.Ctx) error {
	in := models.UserInput{Role: models.RoleCustomer, OrgID: optionalID(c.Query("org"))}
	return h.renderUserForm(c, fiber.StatusOK, views.UserFormPageVM{Input: in})
}

func userForm(c *fiber.Ctx) models.UserInput {
	return models.UserInput{Email: c.FormValue("email"), Name: c.FormValue("name"), Phone: c.FormValue("phone"),
		Role: models.Role(c.FormValue("role")), OrgID: optionalID(c.FormValue("org")), Password: c.FormValue("password")}
}

func (h *Handler) createUser(c *fiber.Ctx) error {
	in := userForm(c)
	u, err := h.store.CreateUser(c.UserContext(), actor(c), in)
	if errs := views.FromError(err); errs != nil {
		in.Password = ""
		return h.renderUserForm(c, fiber.StatusUnprocessableEntity, views.UserFormPageVM{Input: in, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.user_created")
	return redirect(c, "/admin/users/"+itoa(u.ID))
}

func (h *Handler) editUser(c *fiber.Ctx) error {
	u, err := h.userParam(c)
	if err != nil {
		return err
	}
	return h.renderUserForm(c, fiber.StatusOK, views.UserFormPageVM{User: u, Input: inputOf(u)})
}

func inputOf(u *models.User) models.UserInput {
	return models.UserInput{Email: u.Email, Name: u.Name, Phone: u.Phone, Role: u.Role, OrgID: u.OrgID}
}

func (h *Handler) updateUser(c *fiber.Ctx) error {
	u, err := h.userParam(c)
	if err != nil {
		return err
	}
	in := userForm(c)
	_, err = h.store.UpdateUser(c.UserContext(), actor(c), u.ID, in)
	if errs := views.FromError(err); errs != nil {
		return h.renderUserForm(c, fiber.StatusUnprocessableEntity, views.UserFormPageVM{User: u, Input: in, Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.saved")
	return redirect(c, "/admin/users/"+itoa(u.ID))
}

func (h *Handler) disableUser(c *fiber.Ctx) error { return h.setDisabled(c, true) }
func (h *Handler) enableUser(c *fiber.Ctx) error  { return h.setDisabled(c, false) }

func (h *Handler) setDisabled(c *fiber.Ctx, disabled bool) error {
	u, err := h.userParam(c)
	if err != nil {
		return err
	}
	err = h.store.SetUserDisabled(c.UserContext(), actor(c), u.ID, disabled)
	if errs := views.FromError(err); errs != nil {
		return h.renderUserForm(c, fiber.StatusUnprocessableEntity, views.UserFormPageVM{User: u, Input: inputOf(u), Errors: errs})
	}
	if err != nil {
		return err
	}
	key := "flash.user_enabled"
	if disabled {
		key = "flash.user_disabled"
	}
	h.flash(c, "ok", key)
	return redirect(c, "/admin/users/"+itoa(u.ID))
}

// resetPassword sets a random password, shown once, and signs the user out
// everywhere.
func (h *Handler) resetPassword(c *fiber.Ctx) error {
	u, err := h.userParam(c)
	if err != nil {
		return err
	}
	pw := models.RandomPassword()
	if err := h.store.SetPassword(c.UserContext(), actor(c), u.ID, pw, ""); err != nil {
		return err
	}
	return h.renderUserForm(c, fiber.StatusOK, views.UserFormPageVM{User: u, Input: inputOf(u), NewPassword: pw})
}

func (h *Handler) setTOTPRequired(c *fiber.Ctx) error {
	u, err := h.userParam(c)
	if err != nil {
		return err
	}
	required, _ := strconv.ParseBool(c.FormValue("required"))
	if err := h.store.SetTOTPRequired(c.UserContext(), actor(c), u.ID, required); err != nil {
		return err
	}
	// Say what happens next, not only that it was saved.
	key := "flash.totp_required_off"
	switch {
	case required && u.TOTPEnabled:
		key = "flash.totp_required_on_enabled"
	case required:
		key = "flash.totp_required_on"
	}
	h.flash(c, "ok", key)
	return redirect(c, "/admin/users/"+itoa(u.ID))
}

// resetTOTP removes a user's second factor, for a lost phone.
func (h *Handler) resetTOTP(c *fiber.Ctx) error {
	u, err := h.userParam(c)
	if err != nil {
		return err
	}
	if err := h.store.DisableTOTP(c.UserContext(), actor(c), u.ID); err != nil {
		return err
	}
	h.flash(c, "ok", "flash.totp_reset")
	return redirect(c, "/admin/users/"+itoa(u.ID))
}

func (h *Handler) userParam(c *fiber.Ctx) (*models.User, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.store.GetUser(c.UserContext(), id)
}

func (h *Handler) renderUserForm(c *fiber.Ctx, status int, vm views.UserFormPageVM) error {
	orgs, err := h.store.ListOrgs(c.UserContext(), scope(c))
	if err != nil {
		return err
	}
	vm.Orgs = orgs
	if vm.User != nil {
		if vm.OrgAdmin, err = h.store.IsOrgAdmin(c.UserContext(), vm.User); err != nil {
			return err
		}
	}
	return h.render(c, status, views.UserFormPage(vm))
}

func (h *Handler) showAudit(c *fiber.Ctx) error {
	f := models.AuditFilter{Action: c.Query("action"), Limit: 100}
	if id := optionalID(c.Query("before")); id != nil {
		f.BeforeID = *id
	}
	events, err := h.store.ListAudit(c.UserContext(), scope(c), f)
	if err != nil {
		return err
	}
	vm := views.AuditPageVM{Events: events, Filter: f, Actions: models.AuditActions}
	if len(events) == f.Limit {
		vm.NextBefore = events[len(events)-1].ID
	}
	return h.render(c, fiber.StatusOK, views.AuditPage(vm))
}

// setOrgAdmin makes a customer user the administrator of their
// organization, or takes that away.
func (h *Handler) setOrgAdmin(c *fiber.Ctx) error {
	u, err := h.userParam(c)
	if err != nil {
		return err
	}
	on, _ := strconv.ParseBool(c.FormValue("admin"))
	err = h.store.SetOrgAdmin(c.UserContext(), actor(c), u.ID, on)
	if errs := views.FromError(err); errs != nil {
		return h.renderUserForm(c, fiber.StatusUnprocessableEntity, views.UserFormPageVM{User: u, Input: inputOf(u), Errors: errs})
	}
	if err != nil {
		return err
	}
	key := "flash.org_admin_off"
	if on {
		key = "flash.org_admin_on"
	}
	h.flash(c, "ok", key)
	return redirect(c, "/admin/users/"+itoa(u.ID))
}

package handlers

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strconv"
	"strings"
	"time"

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
	f, vm, err := h.auditFilter(c)
	if err != nil {
		return err
	}
	if vm.Errors != nil {
		return h.renderAudit(c, fiber.StatusUnprocessableEntity, vm)
	}
	f.Limit = 100
	if id := optionalID(c.Query("before")); id != nil {
		f.BeforeID = *id
	}
	events, err := h.store.ListAudit(c.UserContext(), scope(c), f)
	if err != nil {
		return err
	}
	vm.Events, vm.Filter = events, f
	if len(events) == f.Limit {
		vm.NextBefore = events[len(events)-1].ID
	}
	return h.renderAudit(c, fiber.StatusOK, vm)
}

// auditFilter reads the audit page's filter from the query (user,
// organization, action, dates in the portal's zone, the end date
// included).
func (h *Handler) auditFilter(c *fiber.Ctx) (models.AuditFilter, views.AuditPageVM, error) {
	f := models.AuditFilter{Action: c.Query("action")}
	if !slices.Contains(models.AuditActions, f.Action) {
		f.Action = ""
	}
	if id := optionalID(c.Query("user")); id != nil {
		f.ActorID = *id
	}
	if id := optionalID(c.Query("org")); id != nil {
		f.OrgID = *id
	}
	vm := views.AuditPageVM{Actions: models.AuditActions, From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to"))}
	var problems []error
	day := func(field, s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation(time.DateOnly, s, h.loc)
		if err != nil {
			problems = append(problems, models.Invalid(field, "error.date_invalid"))
			return time.Time{}
		}
		if err := models.CheckDate(field, t, h.loc); err != nil {
			problems = append(problems, err)
			return time.Time{}
		}
		return t
	}
	f.From = day("from", vm.From)
	if to := day("to", vm.To); !to.IsZero() {
		f.To = to.AddDate(0, 0, 1)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		problems = append(problems, models.Invalid("to", "audit.bad_range"))
	}
	vm.Filter = f
	for _, p := range problems {
		if v, ok := models.AsValidation(p); ok {
			if vm.Errors == nil {
				vm.Errors = views.FormErrors{}
			}
			vm.Errors[v.Field] = v
		}
	}
	return f, vm, nil
}

// renderAudit shows the audit page with its filter's choices of users and
// organizations, read only when a page is shown (not for a CSV export).
func (h *Handler) renderAudit(c *fiber.Ctx, status int, vm views.AuditPageVM) error {
	ctx := c.UserContext()
	users, err := h.store.ListUsers(ctx, scope(c), models.UserFilter{})
	if err != nil {
		return err
	}
	orgs, err := h.store.ListOrgs(ctx, scope(c))
	if err != nil {
		return err
	}
	vm.Users, vm.Orgs = users, orgs
	return h.render(c, status, views.AuditPage(vm))
}

// auditExportMax bounds one CSV export; the filter narrows a larger one.
const auditExportMax = 50000

// downloadAudit sends the entries of the audit page's filter as CSV, each
// with its sentence in the reader's language and its raw detail, and
// records the export in the audit log itself.
func (h *Handler) downloadAudit(c *fiber.Ctx) error {
	f, vm, err := h.auditFilter(c)
	if err != nil {
		return err
	}
	if vm.Errors != nil {
		return h.renderAudit(c, fiber.StatusUnprocessableEntity, vm)
	}
	ctx := c.UserContext()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"id", "time", "actor_id", "actor", "action", "what", "target_type", "target_id", "org_id", "ip", "detail", "hash"})
	rows := 0
	vctx := h.viewContext(c)
	f.Limit = 500
	for rows < auditExportMax {
		page, err := h.store.ListAudit(ctx, scope(c), f)
		if err != nil {
			return err
		}
		for _, e := range page {
			_ = w.Write(csvCells(itoa(e.ID), e.At.UTC().Format(time.RFC3339), optItoa(e.ActorID), e.ActorEmail, e.Action,
				views.AuditSentence(vctx, e), e.TargetType, optItoa(e.TargetID), optItoa(e.OrgID), e.IP, e.Detail, e.Hash))
		}
		rows += len(page)
		if len(page) < f.Limit {
			break
		}
		f.BeforeID = page[len(page)-1].ID
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	detail := map[string]any{"rows": rows, "action": f.Action, "user": f.ActorID, "org": f.OrgID, "from": vm.From, "to": vm.To}
	if err := h.store.Audit(ctx, actor(c), models.AuditExported, "audit", nil, nil, detail); err != nil {
		return err
	}
	attachment(c, "text/csv; charset=utf-8", "audit-log-"+h.store.Now().In(h.loc).Format("20060102-1504")+".csv")
	return c.Send(buf.Bytes())
}

// optItoa writes an optional ID, empty when absent.
func optItoa(id *int64) string {
	if id == nil {
		return ""
	}
	return itoa(*id)
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

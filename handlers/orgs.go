package handlers

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// showOrgs lists every organization for staff.
func (h *Handler) showOrgs(c *fiber.Ctx) error {
	ctx := c.UserContext()
	orgs, err := h.store.ListOrgs(ctx, scope(c))
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, role := range []models.Role{models.RoleService, models.RoleEngineer} {
		us, err := h.store.ListStaff(ctx, role)
		if err != nil {
			return err
		}
		for _, u := range us {
			names[u.ID] = u.Name
		}
	}
	return h.render(c, fiber.StatusOK, views.OrgsPage(views.OrgsPageVM{Orgs: orgs, Names: names,
		CanEdit: currentUser(c).Role == models.RoleAdmin}))
}

// showOrg is the staff's page of a customer organization: who serves it,
// its authorized contacts (read-only) and its closed months.
func (h *Handler) showOrg(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	return h.renderOrg(c, fiber.StatusOK, id, "", nil)
}

// renderOrg renders an organization for staff, with a refused close-month
// form's month and errors.
func (h *Handler) renderOrg(c *fiber.Ctx, status int, id int64, month string, errs views.FormErrors) error {
	ctx := c.UserContext()
	home, err := h.store.GetOrgHome(ctx, scope(c), id)
	if err != nil {
		return err
	}
	contacts, err := h.store.ListContacts(ctx, scope(c), id)
	if err != nil {
		return err
	}
	closed, err := h.store.ClosedMonths(ctx, scope(c), id)
	if err != nil {
		return err
	}
	users, err := h.store.ListOrgUsers(ctx, scope(c), id)
	if err != nil {
		return err
	}
	devices, err := h.store.OrgDeviceCounts(ctx, scope(c), id)
	if err != nil {
		return err
	}
	contracts, err := h.store.ListContracts(ctx, scope(c), models.ContractFilter{OrgID: id})
	if err != nil {
		return err
	}
	role := currentUser(c).Role
	vm := views.OrgPageVM{Home: home, Contacts: contacts, SetUp: slices.ContainsFunc(contacts, func(c models.Contact) bool { return c.MayAuthorize }),
		CanEdit: role == models.RoleAdmin, CanOperate: engineers.Allows(role), CanAsk: true,
		ClosedMonths: closed, CanCloseMonth: monthClosers.Allows(role), CloseMonth: month, Errors: errs,
		Contracts: contracts, CanContract: contractDesk.Allows(role), Today: h.store.Today(), Now: h.store.Now(), Devices: devices}
	for _, u := range users {
		if !u.Disabled() {
			vm.Users++
		}
	}
	return h.render(c, status, views.OrgPage(vm))
}

// askForContacts emails the customer's users that the organization has no
// authorized contact yet and that they add them (audited).
func (h *Handler) askForContacts(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.store.GetOrg(c.UserContext(), scope(c), id); err != nil {
		return err
	}
	if _, err := h.store.AskForContacts(c.UserContext(), actor(c), id); err != nil {
		if views.FromError(err) != nil {
			h.flash(c, "bad", "flash.contacts_ask_nobody")
			return redirect(c, "/orgs/"+itoa(id)+"#org-contacts")
		}
		return err
	}
	h.flash(c, "ok", "flash.contacts_asked")
	return redirect(c, "/orgs/"+itoa(id)+"#org-contacts")
}

// closeMonth closes a month of an organization from its page: its notice
// deductions and waivers become final and its statement is frozen
// (closeMonthOf, as from the statement's page).
func (h *Handler) closeMonth(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	month := c.FormValue("month")
	errs, err := h.closeMonthOf(c, id, month)
	if err != nil {
		return err
	}
	if errs != nil {
		return h.renderOrg(c, fiber.StatusUnprocessableEntity, id, month, errs)
	}
	return redirect(c, "/orgs/"+itoa(id)+"#months-h")
}

func (h *Handler) newOrg(c *fiber.Ctx) error {
	return h.renderOrgForm(c, fiber.StatusOK, 0, models.OrgInput{}, nil)
}

func (h *Handler) editOrg(c *fiber.Ctx) error {
	o, err := h.orgParam(c)
	if err != nil {
		return err
	}
	in := models.OrgInput{Slug: o.Slug, Name: o.Name, ContactAddress: o.ContactAddress,
		ServiceRepUserID: o.ServiceRepUserID, EngineerUserID: o.EngineerUserID}
	return h.renderOrgForm(c, fiber.StatusOK, o.ID, in, nil)
}

func orgForm(c *fiber.Ctx) models.OrgInput {
	return models.OrgInput{Slug: c.FormValue("slug"), Name: c.FormValue("name"),
		ContactAddress: c.FormValue("contact_address"), ServiceRepUserID: optionalID(c.FormValue("service_rep")),
		EngineerUserID: optionalID(c.FormValue("engineer"))}
}

func (h *Handler) createOrg(c *fiber.Ctx) error {
	in := orgForm(c)
	o, err := h.store.CreateOrg(c.UserContext(), actor(c), in)
	if errs := views.FromError(err); errs != nil {
		return h.renderOrgForm(c, fiber.StatusUnprocessableEntity, 0, in, errs)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.org_created")
	return redirect(c, "/orgs/"+itoa(o.ID))
}

func (h *Handler) updateOrg(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	in := orgForm(c)
	_, err = h.store.UpdateOrg(c.UserContext(), actor(c), id, in)
	if errs := views.FromError(err); errs != nil {
		return h.renderOrgForm(c, fiber.StatusUnprocessableEntity, id, in, errs)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.saved")
	return redirect(c, "/orgs/"+itoa(id))
}

func (h *Handler) renderOrgForm(c *fiber.Ctx, status int, id int64, in models.OrgInput, errs views.FormErrors) error {
	ctx := c.UserContext()
	services, err := h.store.ListStaff(ctx, models.RoleService)
	if err != nil {
		return err
	}
	engineers, err := h.store.ListStaff(ctx, models.RoleEngineer)
	if err != nil {
		return err
	}
	return h.render(c, status, views.OrgFormPage(views.OrgFormPageVM{ID: id, Input: in, Errors: errs,
		Services: services, Engineers: engineers}))
}

package handlers

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// Planned maintenance with the customers' consent (docs/agreement.md §1,
// "Agreed maintenance"): engineers and admins announce and cancel
// windows; a customer user of an affected organization agrees or declines
// until the window starts. A customer reads only the windows touching its
// organization, and of each only its own organization's part: any other
// window is 404.

// maintenanceShown bounds the ended windows /maintenance lists;
// homeMaintenanceShown the windows to answer on a customer's home.
const (
	maintenanceShown     = 100
	homeMaintenanceShown = 5
)

// maintenanceParam finds the window of the path within the request's scope.
func (h *Handler) maintenanceParam(c *fiber.Ctx) (*models.MaintenanceWindow, error) {
	return h.store.GetMaintenance(c.UserContext(), scope(c), c.Params("ref"))
}

// showMaintenanceList lists the windows: every one for staff, those
// touching the organization with its answer for a customer.
func (h *Handler) showMaintenanceList(c *fiber.Ctx) error {
	ctx, u := c.UserContext(), currentUser(c)
	vm := views.MaintenanceListVM{Staff: u.Role.IsStaff(), CanAnnounce: engineers.Allows(u.Role), Now: h.store.Now()}
	var err error
	if vm.Upcoming, err = h.store.ListMaintenance(ctx, scope(c), false, maintenanceShown); err != nil {
		return err
	}
	if vm.Past, err = h.store.ListMaintenance(ctx, scope(c), true, maintenanceShown+1); err != nil {
		return err
	}
	if len(vm.Past) > maintenanceShown {
		vm.Past, vm.MorePast = vm.Past[:maintenanceShown], true
	}
	return h.render(c, fiber.StatusOK, views.MaintenanceListPage(vm))
}

// maintenanceForm fills the form's list of organizations.
func (h *Handler) maintenanceForm(c *fiber.Ctx, vm views.MaintenanceFormVM) (views.MaintenanceFormVM, error) {
	var err error
	vm.Orgs, err = h.store.ListOrgs(c.UserContext(), scope(c))
	return vm, err
}

// newMaintenance shows the announcement form.
func (h *Handler) newMaintenance(c *fiber.Ctx) error {
	vm, err := h.maintenanceForm(c, views.MaintenanceFormVM{})
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.MaintenanceFormPage(vm))
}

// createMaintenance announces a window; the affected contacts are emailed.
func (h *Handler) createMaintenance(c *fiber.Ctx) error {
	vm := views.MaintenanceFormVM{Title: c.FormValue("title"), Body: c.FormValue("body"), StartsAt: c.FormValue("starts_at"),
		EndsAt: c.FormValue("ends_at"), Targets: c.FormValue("targets")}
	in := models.MaintenanceInput{Title: vm.Title, Body: vm.Body, TargetLines: vm.Targets}
	var startErr, endErr error
	var at *time.Time
	if at, startErr = h.parseLocalTime("starts_at", vm.StartsAt); at != nil {
		in.StartsAt = *at
	}
	if at, endErr = h.parseLocalTime("ends_at", vm.EndsAt); at != nil {
		in.EndsAt = *at
	}
	var w *models.MaintenanceWindow
	var err error
	if startErr == nil && endErr == nil {
		w, err = h.store.AnnounceMaintenance(c.UserContext(), actor(c), in)
	} else {
		// The times could not be read: check the rest all the same, so that
		// the form shows every mistake at once, and store nothing.
		in.StartsAt, in.EndsAt = time.Time{}, time.Time{}
		err = withoutTimes(h.store.ValidateMaintenance(c.UserContext(), in))
	}
	if errs := views.FromError(errors.Join(startErr, endErr, err)); errs != nil {
		vm.Errors = errs
		if vm, err = h.maintenanceForm(c, vm); err != nil {
			return err
		}
		return h.render(c, fiber.StatusUnprocessableEntity, views.MaintenanceFormPage(vm))
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.maintenance_announced")
	return redirect(c, views.MaintenanceURL(w.Ref))
}

// withoutTimes drops the errors about the window's times from err (the
// form's own parse errors stand for them).
func withoutTimes(err error) error {
	var keep []error
	for _, v := range models.Validations(err) {
		if v.Field != "starts_at" && v.Field != "ends_at" {
			keep = append(keep, v)
		}
	}
	if len(models.Validations(err)) == 0 {
		return err
	}
	return errors.Join(keep...)
}

// showMaintenance is a window's page.
func (h *Handler) showMaintenance(c *fiber.Ctx) error {
	w, err := h.maintenanceParam(c)
	if err != nil {
		return err
	}
	return h.renderMaintenance(c, fiber.StatusOK, w, views.MaintenancePageVM{})
}

func (h *Handler) renderMaintenance(c *fiber.Ctx, status int, w *models.MaintenanceWindow, vm views.MaintenancePageVM) error {
	u := currentUser(c)
	d, err := h.store.MaintenanceDetailOf(c.UserContext(), scope(c), w)
	if err != nil {
		return err
	}
	vm.D, vm.Now = d, h.store.Now()
	vm.Staff, vm.CanCancel = u.Role.IsStaff(), engineers.Allows(u.Role)
	vm.OrgID = ownOrg(c)
	vm.Customer = u.Role == models.RoleCustomer && vm.OrgID != 0
	return h.render(c, status, views.MaintenancePage(vm))
}

// maintenanceDone answers an action on a window: the page again with the
// form's errors, or back to the page with a flash.
func (h *Handler) maintenanceDone(c *fiber.Ctx, w *models.MaintenanceWindow, err error, vm views.MaintenancePageVM, flash string) error {
	if errs := views.FromError(err); errs != nil {
		vm.Errors = errs
		return h.renderMaintenance(c, fiber.StatusUnprocessableEntity, w, vm)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", flash)
	return redirect(c, views.MaintenanceURL(w.Ref))
}

// answerMaintenance records the customer's organization's answer.
func (h *Handler) answerMaintenance(c *fiber.Ctx) error {
	w, err := h.maintenanceParam(c)
	if err != nil {
		return err
	}
	answer, note := c.FormValue("answer"), c.FormValue("note")
	_, err = h.store.AnswerMaintenance(c.UserContext(), actor(c), currentUser(c), w.Ref, answer, note)
	flash := "flash.maintenance_agreed"
	if answer == models.MaintenanceDeclined {
		flash = "flash.maintenance_declined"
	}
	return h.maintenanceDone(c, w, err, views.MaintenancePageVM{Form: "answer", Answer: answer, Note: note}, flash)
}

// cancelMaintenance cancels a window before it starts, with a reason.
func (h *Handler) cancelMaintenance(c *fiber.Ctx) error {
	w, err := h.maintenanceParam(c)
	if err != nil {
		return err
	}
	reason := c.FormValue("reason")
	_, err = h.store.CancelMaintenance(c.UserContext(), actor(c), w.Ref, reason)
	return h.maintenanceDone(c, w, err, views.MaintenancePageVM{Form: "cancel", Reason: reason}, "flash.maintenance_cancelled")
}

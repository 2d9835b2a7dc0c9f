package handlers

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// Power incidents (agreement §2): engineers record them; staff read them
// all; a customer reads those touching its organization, and of each only
// its own organization's part.

// powerListLimit is how many incidents the list shows, newest first.
const powerListLimit = 200

// showPowerIncidents lists the incidents the reader may see.
func (h *Handler) showPowerIncidents(c *fiber.Ctx) error {
	u := currentUser(c)
	vm := views.PowerListVM{Staff: u.Role.IsStaff(), CanRecord: engineers.Allows(u.Role), Limit: powerListLimit, Now: h.store.Now()}
	vm.Filter = models.PowerFilter{Limit: powerListLimit}
	if vm.Staff {
		vm.Filter.OrgID, _ = strconv.ParseInt(c.Query("org"), 10, 64)
		vm.Filter.Ongoing = c.Query("ongoing") == "1"
		var err error
		if vm.Orgs, err = h.store.ListOrgs(c.UserContext(), scope(c)); err != nil {
			return err
		}
		if vm.Proposals, err = h.store.OpenPowerProposals(c.UserContext(), scope(c)); err != nil {
			return err
		}
	}
	var err error
	if vm.Rows, err = h.store.PowerIncidents(c.UserContext(), scope(c), vm.Filter); err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.PowerListPage(vm))
}

// powerParam finds the incident of the path as the reader may see it.
func (h *Handler) powerParam(c *fiber.Ctx) (*models.PowerDetail, error) {
	return h.store.PowerIncidentOf(c.UserContext(), scope(c), c.Params("ref"))
}

// showPowerIncident is one incident's page.
func (h *Handler) showPowerIncident(c *fiber.Ctx) error {
	d, err := h.powerParam(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	return h.render(c, fiber.StatusOK, views.PowerPage(views.PowerPageVM{D: d, Staff: u.Role.IsStaff(),
		CanEdit: engineers.Allows(u.Role), Now: h.store.Now()}))
}

// newPowerIncident is the empty form, its start set to now.
func (h *Handler) newPowerIncident(c *fiber.Ctx) error {
	now := h.store.Now()
	return h.renderPowerForm(c, fiber.StatusOK, views.PowerFormVM{StartedAt: views.LocalInput(now, h.loc)})
}

// editPowerIncident is the form of an incident, to end or correct it.
func (h *Handler) editPowerIncident(c *fiber.Ctx) error {
	d, err := h.powerParam(c)
	if err != nil {
		return err
	}
	p := d.Incident
	vm := views.PowerFormVM{Ref: p.Ref, Number: p.Number(), StartedAt: views.LocalInput(p.StartedAt, h.loc),
		BothDown: "no", ForceMajeure: p.ForceMajeure, Cause: p.Cause, Note: p.Note, Targets: models.PowerTargetLines(d.Targets)}
	if p.EndedAt != nil {
		vm.EndedAt = views.LocalInput(*p.EndedAt, h.loc)
	}
	if p.BothDown {
		vm.BothDown = "yes"
	}
	choices, err := h.store.PowerChoices(c.UserContext(), scope(c))
	if err != nil {
		return err
	}
	vm.Choices = models.WithTargetCabinets(choices, d.Targets)
	return h.renderPowerForm(c, fiber.StatusOK, vm)
}

func (h *Handler) renderPowerForm(c *fiber.Ctx, status int, vm views.PowerFormVM) error {
	if vm.Choices == nil {
		var err error
		if vm.Choices, err = h.store.PowerChoices(c.UserContext(), scope(c)); err != nil {
			return err
		}
	}
	return h.render(c, status, views.PowerFormPage(vm))
}

// powerInput reads the form: what was typed (for the form again) and the
// input, with the problems of what could not be read (times, the yes/no
// of both supplies, the lines of targets).
func (h *Handler) powerInput(c *fiber.Ctx, vm *views.PowerFormVM, named []models.PowerTargetView) (models.PowerInput, error) {
	vm.StartedAt, vm.EndedAt = c.FormValue("started_at"), c.FormValue("ended_at")
	vm.BothDown, vm.ForceMajeure = c.FormValue("both_down"), c.FormValue("force_majeure") == "1"
	vm.Cause, vm.Note, vm.Targets = c.FormValue("cause"), c.FormValue("note"), c.FormValue("targets")
	in := models.PowerInput{BothDown: vm.BothDown == "yes", ForceMajeure: vm.ForceMajeure, Cause: vm.Cause, Note: vm.Note}
	var errs []error
	if at, err := h.parseLocalTime("started_at", vm.StartedAt); err != nil {
		errs = append(errs, err)
	} else if at != nil {
		in.StartedAt = *at
	}
	if at, err := h.parseLocalTime("ended_at", vm.EndedAt); err != nil {
		errs = append(errs, err)
	} else {
		in.EndedAt = at
	}
	if vm.BothDown != "yes" && vm.BothDown != "no" {
		errs = append(errs, models.Invalid("both_down", "power.error.both_down"))
	}
	choices, err := h.store.PowerChoices(c.UserContext(), scope(c))
	if err != nil {
		return in, err
	}
	vm.Choices = models.WithTargetCabinets(choices, named)
	if in.Targets, err = models.ParsePowerTargets(vm.Targets, vm.Choices); err != nil {
		errs = append(errs, err)
	}
	return in, errors.Join(errs...)
}

// powerFormAgain shows the form again, as typed, when the input has
// problems: those found reading it (parseErr) first, then the Store's.
// shown says it did; any other error is returned.
func (h *Handler) powerFormAgain(c *fiber.Ctx, vm views.PowerFormVM, parseErr, err error) (shown bool, _ error) {
	errs := views.FromError(errors.Join(parseErr, err))
	if errs == nil {
		return false, errors.Join(parseErr, err)
	}
	vm.Errors = errs
	return true, h.renderPowerForm(c, fiber.StatusUnprocessableEntity, vm)
}

// createPowerIncident records an incident.
func (h *Handler) createPowerIncident(c *fiber.Ctx) error {
	var vm views.PowerFormVM
	in, parseErr := h.powerInput(c, &vm, nil)
	if parseErr != nil && len(models.Validations(parseErr)) == 0 {
		return parseErr
	}
	var p *models.PowerIncident
	var err error
	if parseErr != nil {
		err = h.store.CheckPowerIncident(c.UserContext(), in)
	} else {
		p, err = h.store.RecordPowerIncident(c.UserContext(), actor(c), in)
	}
	if shown, ferr := h.powerFormAgain(c, vm, parseErr, err); shown || ferr != nil {
		return ferr
	}
	h.flash(c, "ok", "flash.power_recorded")
	return redirect(c, views.PowerURL(p.Ref))
}

// updatePowerIncident ends or corrects an incident.
func (h *Handler) updatePowerIncident(c *fiber.Ctx) error {
	d, err := h.powerParam(c)
	if err != nil {
		return err
	}
	vm := views.PowerFormVM{Ref: d.Incident.Ref, Number: d.Incident.Number()}
	in, parseErr := h.powerInput(c, &vm, d.Targets)
	if parseErr != nil && len(models.Validations(parseErr)) == 0 {
		return parseErr
	}
	if parseErr != nil {
		err = h.store.CheckPowerIncident(c.UserContext(), in)
	} else {
		_, err = h.store.UpdatePowerIncident(c.UserContext(), actor(c), d.Incident.ID, in)
	}
	if shown, ferr := h.powerFormAgain(c, vm, parseErr, err); shown || ferr != nil {
		return ferr
	}
	h.flash(c, "ok", "flash.power_updated")
	return redirect(c, views.PowerURL(d.Incident.Ref))
}

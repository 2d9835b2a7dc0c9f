package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// Power incidents proposed by the meters (a cabinet whose two feeds read
// zero): listed on /power for staff; engineers confirm one as a power
// incident (the form prefilled with its cabinet and times) or dismiss it
// with a reason.

// proposalParam finds the proposal of the path (staff only).
func (h *Handler) proposalParam(c *fiber.Ctx) (*models.PowerProposalRow, error) {
	return h.store.GetPowerProposal(c.UserContext(), scope(c), c.Params("ref"))
}

// showProposal is the confirmation form of a proposal, prefilled.
func (h *Handler) showProposal(c *fiber.Ctx) error {
	p, err := h.proposalParam(c)
	if err != nil {
		return err
	}
	vm := views.ProposalFormVM{P: p, StartedAt: views.LocalInput(p.StartedAt, h.loc), BothDown: "yes"}
	if p.EndedAt != nil {
		vm.EndedAt = views.LocalInput(*p.EndedAt, h.loc)
	}
	return h.renderProposal(c, fiber.StatusOK, vm)
}

func (h *Handler) renderProposal(c *fiber.Ctx, status int, vm views.ProposalFormVM) error {
	if vm.P.State != models.ProposalOpen && vm.Errors == nil {
		vm.Errors = views.FromError(models.Invalid("proposal", "facility.error.proposal_decided"))
	}
	return h.render(c, status, views.ProposalPage(vm))
}

// confirmProposal records the proposal as a power incident.
func (h *Handler) confirmProposal(c *fiber.Ctx) error {
	p, err := h.proposalParam(c)
	if err != nil {
		return err
	}
	vm := views.ProposalFormVM{P: p, StartedAt: c.FormValue("started_at"), EndedAt: c.FormValue("ended_at"),
		BothDown: c.FormValue("both_down"), ForceMajeure: c.FormValue("force_majeure") == "1",
		Cause: c.FormValue("cause"), Note: c.FormValue("note")}
	in := models.ProposalConfirm{BothDown: vm.BothDown == "yes", ForceMajeure: vm.ForceMajeure, Cause: vm.Cause, Note: vm.Note}
	var parse []error
	if at, err := h.parseLocalTime("started_at", vm.StartedAt); err != nil {
		parse = append(parse, err)
	} else if at != nil {
		in.StartedAt = *at
	}
	if at, err := h.parseLocalTime("ended_at", vm.EndedAt); err != nil {
		parse = append(parse, err)
	} else {
		in.EndedAt = at
	}
	if vm.BothDown != "yes" && vm.BothDown != "no" {
		parse = append(parse, models.Invalid("both_down", "power.error.both_down"))
	}
	parseErr := errors.Join(parse...)
	if parseErr != nil && len(models.Validations(parseErr)) == 0 {
		return parseErr
	}
	var inc *models.PowerIncident
	if parseErr != nil {
		err = h.store.CheckProposalConfirm(c.UserContext(), p, in)
	} else {
		inc, err = h.store.ConfirmPowerProposal(c.UserContext(), actor(c), p, in)
	}
	if errs := views.FromError(errors.Join(parseErr, err)); errs != nil {
		vm.Errors = errs
		return h.renderProposal(c, fiber.StatusUnprocessableEntity, vm)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.facility_proposal_confirmed")
	return redirect(c, views.PowerURL(inc.Ref))
}

// dismissProposal dismisses the proposal with a reason.
func (h *Handler) dismissProposal(c *fiber.Ctx) error {
	p, err := h.proposalParam(c)
	if err != nil {
		return err
	}
	reason := c.FormValue("reason")
	err = h.store.DismissPowerProposal(c.UserContext(), actor(c), p.Ref, reason)
	if errs := views.FromError(err); errs != nil {
		vm := views.ProposalFormVM{P: p, StartedAt: views.LocalInput(p.StartedAt, h.loc), BothDown: "yes", Reason: reason, Errors: errs}
		if p.EndedAt != nil {
			vm.EndedAt = views.LocalInput(*p.EndedAt, h.loc)
		}
		return h.renderProposal(c, fiber.StatusUnprocessableEntity, vm)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.facility_proposal_dismissed")
	return redirect(c, "/power")
}

package handlers

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// postMessage adds a message to a request. A staff message is feedback to
// the customer: the first one stops the 30-minute clock.
func (h *Handler) postMessage(c *fiber.Ctx) error {
	r, err := h.requestParam(c)
	if err != nil {
		return err
	}
	body := c.FormValue("body")
	staff := currentUser(c).Role.IsStaff()
	_, err = h.store.PostMessage(c.UserContext(), actor(c), r.OrgID, r.ID, staff, body)
	if errs := views.FromError(err); errs != nil {
		return h.renderOperation(c, fiber.StatusUnprocessableEntity, r, views.OperationPageVM{Form: "message", Errors: errs, Message: body})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.message_sent")
	return redirect(c, views.OperationURL(r.Ref)+"#timeline")
}

// setOperationState starts, completes or abandons the work.
func (h *Handler) setOperationState(c *fiber.Ctx) error {
	r, err := h.requestParam(c)
	if err != nil {
		return err
	}
	in := models.StateInput{State: c.FormValue("state"), Notes: c.FormValue("notes"), WorkDone: c.FormValue("work_done"),
		Result: c.FormValue("result"), ResultNote: c.FormValue("result_note"), FollowUp: c.FormValue("follow_up")}
	// Closing the request is for good: say what it changes first.
	if views.Closes(in.State) && r.Open() && !confirmed(c) {
		return h.confirmStep(c, views.ConfirmVM{Button: locales.For(state(c).lang).T("operation.to_state." + in.State),
			Back: views.OperationURL(r.Ref) + "#st-h",
			Text: func(ctx context.Context) (string, []string) {
				return views.T(ctx, "confirm.state."+in.State+".title"), views.StateChanges(views.Tc(ctx), in.State, r.Number())
			}})
	}
	started, ended := c.FormValue("started_at"), c.FormValue("ended_at")
	var startErr, endErr error
	in.StartedAt, startErr = h.parseLocalTime("started_at", started)
	in.EndedAt, endErr = h.parseLocalTime("ended_at", ended)
	if err = errors.Join(startErr, endErr); err == nil {
		err = h.store.SetOperationState(c.UserContext(), actor(c), r.OrgID, r.ID, in)
	} else {
		err = errors.Join(err, h.store.CheckState(in)) // every error in one answer
	}
	if errs := views.FromError(err); errs != nil {
		return h.renderOperation(c, fiber.StatusUnprocessableEntity, r, views.OperationPageVM{Form: "state", Errors: errs, State: in,
			StartedAt: started, EndedAt: ended})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.state_saved")
	return redirect(c, views.OperationURL(r.Ref))
}

// showClassifyOutage shows what attributing an outage to the request's
// operation would do, for the engineer to confirm: only the part inside
// the authorized work takes the operation's cause.
func (h *Handler) showClassifyOutage(c *fiber.Ctx) error {
	r, id, err := h.requestChild(c, "outage")
	if err != nil {
		return err
	}
	d, err := h.store.RequestDetailOf(c.UserContext(), scope(c), r)
	if err != nil {
		return err
	}
	return h.renderClassify(c, fiber.StatusOK, d, id, nil, "")
}

// classifyOutage attributes the part of an outage inside the authorized
// work to the customer-authorized operation (clause 7), after the
// engineer saw the split; the rest keeps its own cause.
func (h *Handler) classifyOutage(c *fiber.Ctx) error {
	r, id, err := h.requestChild(c, "outage")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	d, err := h.store.RequestDetailOf(ctx, scope(c), r)
	if err != nil {
		return err
	}
	note := c.FormValue("note")
	_, err = h.store.ApplyOperationCause(ctx, actor(c), d, id, note)
	if errs := views.FromError(err); errs != nil {
		return h.renderClassify(c, fiber.StatusUnprocessableEntity, d, id, errs, note)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.cause_span_set")
	return redirect(c, views.OperationURL(r.Ref)+"#ov-h")
}

// renderClassify shows the split of outage id for request detail d, which
// the caller has read within the request's scope.
func (h *Handler) renderClassify(c *fiber.Ctx, status int, d *models.RequestDetail, id int64, errs views.FormErrors, note string) error {
	ctx := c.UserContext()
	vm := views.OperationCausePageVM{D: d, Errors: errs, Note: note}
	var err error
	if vm.Plan, err = h.store.PlanOperationCause(ctx, d, id); err != nil {
		return err
	}
	vm.Device = d.DeviceName(vm.Plan.Outage.DeviceID)
	var setters []int64
	for _, g := range vm.Plan.Before {
		if g.Part != nil && g.Part.SetBy != nil {
			setters = append(setters, *g.Part.SetBy)
		}
	}
	if vm.Names, err = h.store.StaffNames(ctx, setters); err != nil {
		return err
	}
	return h.render(c, status, views.OperationCausePage(vm))
}

// withdrawRequest lets a customer take back a request nobody has
// authorized yet.
func (h *Handler) withdrawRequest(c *fiber.Ctx) error {
	r, err := h.requestParam(c)
	if err != nil {
		return err
	}
	err = h.store.WithdrawRequest(c.UserContext(), actor(c), r.OrgID, r.ID, c.FormValue("reason"))
	if errs := views.FromError(err); errs != nil {
		return h.renderOperation(c, fiber.StatusUnprocessableEntity, r, views.OperationPageVM{Form: "withdraw", Errors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.request_withdrawn")
	return redirect(c, views.OperationURL(r.Ref))
}

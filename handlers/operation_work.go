package handlers

import (
	"github.com/gofiber/fiber/v2"

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
	return redirect(c, views.OperationURL(r.ID)+"#timeline")
}

// setOperationState starts, completes or abandons the work.
func (h *Handler) setOperationState(c *fiber.Ctx) error {
	r, err := h.requestParam(c)
	if err != nil {
		return err
	}
	in := models.StateInput{State: c.FormValue("state"), Notes: c.FormValue("notes"), WorkDone: c.FormValue("work_done"),
		Result: c.FormValue("result"), ResultNote: c.FormValue("result_note"), FollowUp: c.FormValue("follow_up")}
	started, ended := c.FormValue("started_at"), c.FormValue("ended_at")
	if in.StartedAt, err = h.parseLocalTime("started_at", started); err == nil {
		if in.EndedAt, err = h.parseLocalTime("ended_at", ended); err == nil {
			err = h.store.SetOperationState(c.UserContext(), actor(c), r.OrgID, r.ID, in)
		}
	}
	if errs := views.FromError(err); errs != nil {
		return h.renderOperation(c, fiber.StatusUnprocessableEntity, r, views.OperationPageVM{Form: "state", Errors: errs, State: in,
			StartedAt: started, EndedAt: ended})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.state_saved")
	return redirect(c, views.OperationURL(r.ID))
}

// classifyOutage marks an outage that overlaps the authorized work on the
// request's devices as caused by the customer-authorized operation, which
// excludes it from the availability figure (clause 7).
func (h *Handler) classifyOutage(c *fiber.Ctx) error {
	r, id, err := h.requestChild(c, "outage")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	d, err := h.store.RequestDetailOf(ctx, r)
	if err != nil {
		return err
	}
	outs, err := h.store.OverlappingOutages(ctx, d)
	if err != nil {
		return err
	}
	for _, o := range outs {
		if o.ID == id {
			if _, err := h.store.SetOutageCause(ctx, actor(c), o.ID, models.CauseCustomerOperation, r.Number()); err != nil {
				return err
			}
			h.flash(c, "ok", "flash.cause_set")
			return redirect(c, views.OperationURL(r.ID))
		}
	}
	return models.ErrNotFound
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
	return redirect(c, views.OperationURL(r.ID))
}

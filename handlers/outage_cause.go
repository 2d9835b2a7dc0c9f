package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// setOutageCause classifies an outage, which decides whether its downtime
// counts against the agreement.
func (h *Handler) setOutageCause(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	o, err := h.store.FindOutageForStaff(ctx, id)
	if err != nil {
		return err
	}
	cause, note := c.FormValue("cause"), c.FormValue("note")
	_, err = h.store.SetOutageCause(ctx, actor(c), o.ID, models.Cause(cause), note)
	if errs := views.FromError(err); errs != nil {
		d, err := h.store.FindDevice(ctx, o.DeviceID)
		if err != nil {
			return err
		}
		return h.renderDevice(c, fiber.StatusUnprocessableEntity, d, views.DevicePageVM{CauseOutage: o.ID, Cause: cause,
			Note: note, CauseErrors: errs})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.cause_set")
	return redirect(c, "/devices/"+itoa(o.DeviceID)+"#outage-"+itoa(o.ID))
}

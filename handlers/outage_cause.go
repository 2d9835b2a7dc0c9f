package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// setOutageCause classifies an outage, which decides whether its downtime
// counts against the agreement.
func (h *Handler) setOutageCause(c *fiber.Ctx) error {
	o, err := h.outageParam(c)
	if err != nil {
		return err
	}
	cause, note := c.FormValue("cause"), c.FormValue("note")
	ctx := c.UserContext()
	_, err = h.store.SetOutageCause(ctx, actor(c), o.ID, models.Cause(cause), note)
	if errs := views.FromError(err); errs != nil {
		d, err := h.store.GetDevice(ctx, scope(c), o.DeviceID)
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

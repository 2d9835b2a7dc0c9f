package handlers

import (
	"context"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
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
	// A cause decides what counts against the agreement: say what first.
	if cs := models.Cause(cause); slices.Contains(models.Causes, cs) && cs.WholeOutage() && !confirmed(c) {
		d, err := h.store.GetDevice(ctx, scope(c), o.DeviceID)
		if err != nil {
			return err
		}
		now := h.store.Now()
		return h.confirmStep(c, views.ConfirmVM{Button: locales.For(state(c).lang).T("common.save"),
			Back: "/devices/" + itoa(o.DeviceID) + "#outage-" + itoa(o.ID),
			Text: func(ctx context.Context) (string, []string) {
				return views.T(ctx, "confirm.cause.title", views.CauseName(ctx, cs)), views.CauseChanges(views.Tc(ctx), cs, views.OutageWhat(ctx, d.Name, o, now))
			}})
	}
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
